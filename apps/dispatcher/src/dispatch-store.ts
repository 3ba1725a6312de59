import type { Redis } from 'ioredis';
import { BULLMQ_PRIORITY, USAGE_FIELDS, encodeTerminalRecord, type Config, type JobPayload, type JobView, type KeySpace } from '@sched/core';
import { workerJobOptions, type JobReader, type WebhookOutbox } from '@sched/runtime';
import type { Claim } from './dispatch-claims.js';
import type { FairShare, QueuePlace } from './fair-share.js';
import type { DispatchStore } from './route-job.js';
import type { PublishStatus } from './status-publisher.js';
import type { WorkerQueues } from './worker-queues.js';

/** Routes are kept this much longer than results, so a job that waits long in a worker queue keeps its route. */
const ROUTE_GRACE_S = 86_400;

export interface RedisDispatchStoreOptions {
  readonly config: Pick<Config, 'RESULT_TTL_S' | 'MAX_ATTEMPTS' | 'RETRY_BACKOFF_MS'>;
  readonly keys: Pick<KeySpace, 'route' | 'terminal' | 'usage'>;
  /** The connection status messages are published on too (`publish`): Redis applies both in order. */
  readonly redis: Redis;
  readonly workerQueues: Pick<WorkerQueues, 'get'>;
  readonly reader: Pick<JobReader, 'readOwned'>;
  readonly outbox: Pick<WebhookOutbox, 'reserve' | 'release'>;
  readonly publish: PublishStatus;
  /** Fair sharing in the worker queues (a job's priority there); null: none. */
  readonly fair: Pick<FairShare, 'queuePlace'> | null;
}

/** Routing's reads and writes in Redis (see `DispatchStore`). */
export class RedisDispatchStore implements DispatchStore {
  constructor(private readonly options: RedisDispatchStoreOptions) {}

  async previous(jobId: string): Promise<{ route: string | null; finished: boolean }> {
    const { redis, keys } = this.options;
    const [route, terminal] = await redis.mget(keys.route(jobId), keys.terminal(jobId));
    return { route: route ?? null, finished: terminal !== null && terminal !== undefined };
  }

  async send(jobId: string, payload: JobPayload, { workerId, dispatchedAt }: Claim): Promise<void> {
    const { redis, keys, config } = this.options;
    // The route is in before the job is added, so a job never sits in a worker's queue without its
    // route (a retry after a refused route write routes afresh; after a refused add, to the same
    // worker). Then the `dispatched` message and the job: one connection, so Redis applies them in
    // this order and no worker can report `running` before `dispatched` is out.
    // The job's fair rank in that queue is given in the same round trip.
    const [, place] = await Promise.all<[unknown, Promise<QueuePlace> | QueuePlace]>([
      redis.set(keys.route(jobId), workerId, 'EX', config.RESULT_TTL_S + ROUTE_GRACE_S),
      this.options.fair?.queuePlace(payload, workerId) ?? { priority: BULLMQ_PRIORITY[payload.priority] },
    ]);
    this.options.publish({ id: jobId, status: 'dispatched', worker: workerId, at: dispatchedAt, attempt: payload.priorAttempts ?? 0 });
    // A job re-routed from another worker's queue drops the tag it had there.
    const { fairStart: _previousTag, ...routed } = payload;
    const data: JobPayload = place.fairStart === undefined ? { ...routed, dispatchedAt } : { ...routed, dispatchedAt, fairStart: place.fairStart };
    await this.options.workerQueues.get(workerId).add('job', data, workerJobOptions(jobId, place.priority, config));
  }

  reserveWebhook(jobId: string, payload: JobPayload): Promise<void> {
    return this.options.outbox.reserve(jobId, payload);
  }

  releaseWebhook(jobId: string, payload: JobPayload): Promise<void> {
    return this.options.outbox.release(jobId, payload);
  }

  /** The same record and message as the API's own cancel (a cancelled job reads from its terminal record). */
  async recordCancelled(jobId: string): Promise<void> {
    const { redis, keys, config } = this.options;
    const job = await this.options.reader.readOwned(jobId);
    const at = Date.now();
    if (job !== null) {
      const cancelled: JobView = { ...job.view, status: 'cancelled', timings: { ...job.view.timings, finishedAt: new Date(at).toISOString() } };
      delete cancelled.worker;
      await redis
        .multi()
        .set(keys.terminal(jobId), encodeTerminalRecord({ view: cancelled, owner: job.owner }), 'EX', config.RESULT_TTL_S)
        .hincrby(keys.usage(job.owner), USAGE_FIELDS.cancelled, 1)
        .exec();
    }
    this.options.publish({ id: jobId, status: 'cancelled', at, attempt: job?.view.attempts ?? 0 });
  }
}
