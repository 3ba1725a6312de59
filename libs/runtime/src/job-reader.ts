import type { Redis } from 'ioredis';
import { deriveJobView, latestStartAt, type Catalog, INGRESS_QUEUE, workerQueueName, type KeySpace, type JobView } from '@sched/core';

/**
 * Reads a job's public view from the queue state itself (the ingress job, its route, the
 * worker-queue job and its lock, the webhook record), in at most two round trips. Used by
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
   * The ingress job, the route, a terminal record and the webhook record atomically, then the
   * worker job and its lock. A caller that already knows the route (from a status message)
   * skips the first when the worker job is there.
   */
  async read(id: string, knownRoute?: string): Promise<JobView | null> {
    if (knownRoute !== undefined) {
      const fast = await this.readWorkerJob(id, knownRoute);
      if (fast.workerJob.data !== undefined) return this.derive(id, {}, knownRoute, fast.workerJob, fast.locked, fast.webhook);
    }
    const first = await this.redis
      .multi()
      .hgetall(this.keys.jobHash(INGRESS_QUEUE, id))
      .get(this.keys.route(id))
      .get(this.keys.terminal(id))
      .hgetall(this.keys.webhookState(id))
      .exec();
    const ingress = (first?.[0]?.[1] ?? {}) as Record<string, string>;
    const route = (first?.[1]?.[1] ?? null) as string | null;
    const terminal = (first?.[2]?.[1] ?? null) as string | null;
    const webhook = (first?.[3]?.[1] ?? {}) as Record<string, string>;
    if (terminal !== null) return JSON.parse(terminal) as JobView;
    if (route === null) return this.derive(id, ingress, null, {}, false, webhook);
    const worker = await this.readWorkerJob(id, route);
    return this.derive(id, ingress, route, worker.workerJob, worker.locked, worker.webhook);
  }

  private async readWorkerJob(id: string, workerId: string): Promise<{ workerJob: Record<string, string>; locked: boolean; webhook: Record<string, string> }> {
    const queue = workerQueueName(workerId);
    const replies = await this.redis
      .pipeline()
      .hgetall(this.keys.jobHash(queue, id))
      .exists(this.keys.jobLock(queue, id))
      .hgetall(this.keys.webhookState(id))
      .exec();
    return {
      workerJob: (replies?.[0]?.[1] ?? {}) as Record<string, string>,
      locked: replies?.[1]?.[1] === 1,
      webhook: (replies?.[2]?.[1] ?? {}) as Record<string, string>,
    };
  }

  private derive(
    id: string,
    ingress: Record<string, string>,
    route: string | null,
    workerJob: Record<string, string>,
    locked: boolean,
    webhook: Record<string, string>,
  ): JobView | null {
    return deriveJobView({
      id,
      ingress,
      route,
      workerJob,
      locked,
      webhook,
      workerClass: route === null ? undefined : this.classOf(route),
      latestStart: (payload, workerClass) => latestStartAt(this.models, payload, workerClass),
    });
  }
}
