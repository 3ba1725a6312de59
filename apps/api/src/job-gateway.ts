import { createHash, randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  BULLMQ_PRIORITY,
  INGRESS_QUEUE,
  SchedError,
  keySpace,
  redisUnavailable,
  workerQueueName,
  type Catalog,
  type Config,
  type JobAccepted,
  type JobListCursor,
  type JobPayload,
  type JobRequest,
  type JobView,
  type KeySpace,
} from '@sched/core';
import { JobReader, ingressJobOptions, producerQueueOptions, readFleetState, type RedisErrorLog, type RedisHealth, type WorkerQueueState } from '@sched/runtime';
import { v5 as uuidv5 } from 'uuid';

/** Index entries are kept this much longer than results (jobs can wait long before finishing). */
const INDEX_GRACE_S = 86_400;
const LIST_BATCH = 100;
/** A listing reads at most this many index pages per request (a filter may match little). */
const LIST_MAX_PAGES = 10;

/** UUID v5 namespace of job ids made from Idempotency-Keys. */
const IDEMPOTENCY_NAMESPACE = '6f1c4c3e-7d2a-5b8e-9a41-2c6d8e0f5a17';

const CONNECTION_ERROR = /Connection is closed|Stream isn't writeable|Command timed out|ECONNREFUSED|ECONNRESET|EPIPE|max retries/i;

export interface JobGatewayOptions {
  /** The API's fail-fast connection (`createRedis(url, 'producer')`). */
  redis: Redis;
  config: Pick<Config, 'KEY_PREFIX' | 'RESULT_TTL_S' | 'IDEMPOTENCY_TTL_S' | 'REDIS_TIMEOUT_MS'>;
  /** The fleet file: the class of each worker and the latency of each model. */
  catalog: Pick<Catalog, 'workers' | 'models'>;
  /** Whether Redis answers (the process's RedisErrorLog); it also watches every queue opened here. */
  redisLog: Pick<RedisErrorLog, 'watch'> & RedisHealth;
}

/**
 * The API's window on the queues. Every call fails fast with `redis_unavailable`
 * (503) when Redis is down or slow, never hangs: the producer connection has no
 * offline queue, and each call races REDIS_TIMEOUT_MS.
 */
export class JobGateway {
  private readonly redis: Redis;
  private readonly keys: KeySpace;
  private readonly config: JobGatewayOptions['config'];
  private readonly redisLog: JobGatewayOptions['redisLog'];
  private readonly ingress: Queue<JobPayload>;
  private readonly workerQueues = new Map<string, Queue<JobPayload>>();
  private readonly reader: JobReader;

  constructor(options: JobGatewayOptions) {
    this.redis = options.redis;
    this.config = options.config;
    this.redisLog = options.redisLog;
    this.keys = keySpace(this.config.KEY_PREFIX);
    const classes = new Map(options.catalog.workers.map((w) => [w.id, w.class]));
    this.reader = new JobReader(this.redis, this.keys, (id) => classes.get(id), options.catalog.models);
    this.ingress = this.openQueue(INGRESS_QUEUE);
  }

  /**
   * Adds the job to ingress. With an Idempotency-Key, the job id is a UUID v5 of the
   * caller's scope (its API key, or "global") and the key, and the first answer is kept
   * IDEMPOTENCY_TTL_S: the same key and body get it again, another body a 422.
   */
  async submit(request: JobRequest, idempotency?: { key: string; scope: string }): Promise<JobAccepted> {
    const createdAt = Date.now();
    const id = idempotency === undefined ? randomUUID() : uuidv5(`${idempotency.scope}\u0000${idempotency.key}`, IDEMPOTENCY_NAMESPACE);
    const accepted: JobAccepted = { id, status: 'queued', model: request.model, createdAt: new Date(createdAt).toISOString() };
    if (idempotency !== undefined) {
      const bodyHash = createHash('sha256').update(JSON.stringify(request)).digest('hex');
      const record = JSON.stringify({ bodyHash, accepted });
      const first = await this.guard(() => this.redis.set(this.keys.idempotency(id), record, 'EX', this.config.IDEMPOTENCY_TTL_S, 'NX', 'GET'));
      if (first !== null) {
        const earlier = JSON.parse(first) as { bodyHash: string; accepted: JobAccepted };
        if (earlier.bodyHash !== bodyHash) {
          throw new SchedError('idempotency_mismatch', 'this Idempotency-Key was used with a different request body', {
            fieldErrors: [{ path: 'Idempotency-Key', message: 'already used with another body' }],
          });
        }
        return earlier.accepted;
      }
    }
    const payload: JobPayload = { ...request, createdAt };
    // The listing index goes out with the add (one round trip); entries older than anything retained
    // are trimmed as we go. If the add fails, an index entry without a job is skipped by listings.
    const oldest = createdAt - (this.config.RESULT_TTL_S + INDEX_GRACE_S) * 1000;
    try {
      await this.guard(() =>
        Promise.all([
          this.ingress.add('job', payload, ingressJobOptions(id, BULLMQ_PRIORITY[request.priority], this.config)),
          this.redis
            .pipeline()
            .zadd(this.keys.jobIndex, createdAt, id)
            .zadd(this.keys.jobIndexByModel(request.model), createdAt, id)
            .zremrangebyscore(this.keys.jobIndex, '-inf', oldest)
            .zremrangebyscore(this.keys.jobIndexByModel(request.model), '-inf', oldest)
            .exec(),
        ]),
      );
    } catch (error) {
      // Not accepted: the key must not answer for a job that does not exist.
      if (idempotency !== undefined) await this.redis.del(this.keys.idempotency(id)).catch(() => undefined);
      throw error;
    }
    return accepted;
  }

  /** The job's public view (see JobReader.read); null when unknown or expired. */
  async read(id: string, knownRoute?: string): Promise<JobView | null> {
    return this.guard(() => this.reader.read(id, knownRoute));
  }

  /**
   * Newest first from the job index (never a scan of keys): pages of ids after `cursor`,
   * each read and filtered by status, until `limit` match or the index ends.
   */
  async list(filter: { status?: JobView['status']; model?: string; limit: number; cursor?: JobListCursor }): Promise<{ jobs: JobView[]; next?: JobListCursor }> {
    const key = filter.model === undefined ? this.keys.jobIndex : this.keys.jobIndexByModel(filter.model);
    const jobs: JobView[] = [];
    let max: string = filter.cursor === undefined ? '+inf' : String(filter.cursor.score);
    let after = filter.cursor;
    for (let page = 0; page < LIST_MAX_PAGES; page++) {
      const batch = await this.guard(() => this.redis.zrevrangebyscore(key, max, '-inf', 'WITHSCORES', 'LIMIT', 0, LIST_BATCH));
      let progressed = false;
      const entries: { id: string; score: number }[] = [];
      for (let i = 0; i + 1 < batch.length; i += 2) {
        const entry = { id: batch[i] as string, score: Number(batch[i + 1]) };
        // Same-millisecond members come in reverse id order: skip up to and including the cursor.
        if (after !== undefined && entry.score === after.score && entry.id >= after.id) continue;
        entries.push(entry);
      }
      // The page's jobs are read at once (their commands go out together), then taken in order.
      const views = await Promise.all(entries.map((entry) => this.read(entry.id)));
      for (const [i, entry] of entries.entries()) {
        after = entry;
        progressed = true;
        const view = views[i] ?? null;
        if (view === null || (filter.status !== undefined && view.status !== filter.status)) continue;
        jobs.push(view);
        if (jobs.length === filter.limit) return { jobs, next: after };
      }
      // The index is exhausted: no next page.
      if (!progressed || batch.length < LIST_BATCH * 2) return { jobs };
      max = String(after?.score ?? max);
    }
    return after === undefined ? { jobs } : { jobs, next: after };
  }

  /**
   * Removes the job from ingress, or from `workerId`'s queue. False while BullMQ holds it locked
   * (being dispatched, held by a late-binding dispatcher, or started on its worker); BullMQ also
   * answers true for a job that is not there.
   */
  async remove(id: string, workerId?: string): Promise<boolean> {
    const queue = workerId === undefined ? this.ingress : this.workerQueue(workerId);
    return (await this.guard(() => queue.remove(id))) === 1;
  }

  /** Asks the dispatcher holding the job in ingress to let go of it (it answers on the status channel). */
  async requestCancel(id: string): Promise<void> {
    await this.guard(() => this.redis.publish(this.keys.cancelChannel, id));
  }

  /** The record of a job that left the queues without running, kept as long as a result. */
  async recordTerminal(view: JobView): Promise<void> {
    await this.guard(() => this.redis.set(this.keys.terminal(view.id), JSON.stringify(view), 'EX', this.config.RESULT_TTL_S));
  }

  /** Every worker ever seen, with its descriptor and queue counts. */
  async fleetState(): Promise<WorkerQueueState[]> {
    return this.guard(() => readFleetState(this.redis, this.keys));
  }

  private workerQueue(workerId: string): Queue<JobPayload> {
    let queue = this.workerQueues.get(workerId);
    if (queue === undefined) {
      queue = this.openQueue(workerQueueName(workerId));
      this.workerQueues.set(workerId, queue);
    }
    return queue;
  }

  private openQueue(name: string): Queue<JobPayload> {
    const queue = new Queue<JobPayload>(name, producerQueueOptions(this.redis, this.config.KEY_PREFIX));
    this.redisLog.watch(queue, `queue ${name}`);
    return queue;
  }

  /** BullMQ's Prometheus export of the ingress queue. */
  async ingressMetrics(): Promise<string> {
    return this.guard(() => this.ingress.exportPrometheusMetrics());
  }

  async ping(): Promise<void> {
    await this.guard(() => this.redis.ping());
  }

  /** The error log sees an outage first (any connection, any queue); the status covers start-up, before any error. */
  get connected(): boolean {
    return this.redisLog.reachable && this.redis.status === 'ready';
  }

  async close(): Promise<void> {
    await Promise.all([...this.workerQueues.values()].map((q) => q.close()));
    await this.ingress.close();
  }

  private async guard<T>(operation: () => Promise<T>): Promise<T> {
    if (!this.connected) throw redisUnavailable();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(redisUnavailable()), this.config.REDIS_TIMEOUT_MS);
    });
    try {
      return await Promise.race([operation(), timeout]);
    } catch (error) {
      if (error instanceof SchedError) throw error;
      if (!this.connected || (error instanceof Error && CONNECTION_ERROR.test(error.message))) throw redisUnavailable(error);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}
