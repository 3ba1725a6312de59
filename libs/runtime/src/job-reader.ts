import type { Redis } from 'ioredis';
import {
  INGRESS_QUEUE,
  decodeTerminalRecord,
  deriveOwnedJob,
  latestStartAt,
  mayMissDeadline,
  webhookView,
  workerQueueName,
  type Catalog,
  type JobView,
  type KeySpace,
  type OwnedJob,
  type PendingState,
} from '@sched/core';
import { readRecovering } from './stranded-jobs.js';

/**
 * Reads a job's public view from the queue state itself (the ingress job, its route, the
 * worker-queue job and its lock, the webhook record), reading only what the answer needs. Used by
 * the API and by the webhook sender, so a webhook body is exactly what GET /v1/jobs/:id shows.
 */
export class JobReader {
  constructor(
    private readonly redis: Redis,
    private readonly keys: KeySpace,
    private readonly classOf: (workerId: string) => string | undefined,
    private readonly models: Catalog['models'],
  ) {}

  /**
   * The ingress job, the route and a terminal record atomically, then the worker job (and its lock
   * only while it has not finished), then the webhook record only for a job that asked for one. A
   * caller that already knows the route (from a status message) skips the first when the worker
   * job is there: a finished job then costs one command.
   */
  async read(id: string, knownRoute?: string): Promise<JobView | null> {
    return (await this.readOwned(id, knownRoute))?.view ?? null;
  }

  /** {@link read}, with the job's owner: the API shows a job only to its owner (and admins). */
  async readOwned(id: string, knownRoute?: string): Promise<OwnedJob | null> {
    if (knownRoute !== undefined) {
      const workerJob = await this.readWorkerJob(id, knownRoute);
      if (workerJob.hash.data !== undefined) return this.derive(id, {}, knownRoute, workerJob);
    }
    const job = await this.readQueues(id, false);
    return job === READ_AGAIN ? ((await this.readQueues(id, true)) as OwnedJob | null) : job;
  }

  /**
   * The ingress job, route and terminal record, then the worker job. A job routed yet in neither
   * queue has expired, or is being moved from its worker's queue back to ingress (stranded-jobs.ts):
   * in the move it reads `queued`; moved since, it is in ingress or routed on, so one more read
   * (`last`) finds it wherever it went.
   */
  private async readQueues(id: string, last: boolean): Promise<OwnedJob | null | typeof READ_AGAIN> {
    const [ingressReply, routeReply, terminalReply] =
      (await this.redis.multi().hgetall(this.keys.jobHash(INGRESS_QUEUE, id)).get(this.keys.route(id)).get(this.keys.terminal(id)).exec()) ?? [];
    const terminal = (terminalReply?.[1] ?? null) as string | null;
    if (terminal !== null) return decodeTerminalRecord(terminal);
    const ingress = (ingressReply?.[1] ?? {}) as Record<string, string>;
    const route = (routeReply?.[1] ?? null) as string | null;
    if (route === null) return this.derive(id, ingress, null, NO_WORKER_JOB);
    const workerJob = await this.readWorkerJob(id, route);
    if (last || ingress.data !== undefined || workerJob.hash.data !== undefined) return this.derive(id, ingress, route, workerJob);
    const moving = await readRecovering(this.redis, this.keys, route, id);
    if (moving === null) return READ_AGAIN;
    return this.derive(id, { data: JSON.stringify(moving) }, null, NO_WORKER_JOB);
  }

  /**
   * When a read of a job in this state starts to say `failed` / `deadline_exceeded` (its latest start,
   * on the routed worker's class once it waits in a worker queue): the one moment a waiter must read
   * it without a message. Undefined when its deadline cannot pass unannounced (none, or it started).
   */
  expiresAt(state: PendingState): number | undefined {
    if (!mayMissDeadline(state)) return undefined;
    const workerClass = state.status === 'dispatched' && state.worker !== undefined ? this.classOf(state.worker) : undefined;
    return latestStartAt(this.models, state, workerClass);
  }

  /** The worker-queue job's hash; `locked` is read only when the job has not finished (a lock only matters then). */
  private async readWorkerJob(id: string, workerId: string): Promise<WorkerJobRecord> {
    const queue = workerQueueName(workerId);
    const hash = await this.redis.hgetall(this.keys.jobHash(queue, id));
    if (hash.data === undefined || hash.finishedOn !== undefined) return { hash, locked: false };
    const locked = (await this.redis.exists(this.keys.jobLock(queue, id))) === 1;
    // The job may have started between the two reads: a lock with no start time read means the hash
    // is older than the lock, so it is read again (BullMQ sets both in one script).
    if (locked && hash.processedOn === undefined) return { hash: await this.redis.hgetall(this.keys.jobHash(queue, id)), locked };
    return { hash, locked };
  }

  private async derive(id: string, ingress: Record<string, string>, route: string | null, worker: WorkerJobRecord): Promise<OwnedJob | null> {
    const job = deriveOwnedJob({
      id,
      ingress,
      route,
      workerJob: worker.hash,
      locked: worker.locked,
      workerClass: route === null ? undefined : this.classOf(route),
      latestStart: (payload, workerClass) => latestStartAt(this.models, payload, workerClass),
    });
    // Only a job that asked for a webhook has a delivery record worth a command.
    if (job?.view.webhook !== undefined) job.view.webhook = webhookView(await this.redis.hgetall(this.keys.webhookState(id)));
    return job;
  }
}

interface WorkerJobRecord {
  hash: Record<string, string>;
  locked: boolean;
}

const NO_WORKER_JOB: WorkerJobRecord = { hash: {}, locked: false };
const READ_AGAIN = Symbol('read again');
