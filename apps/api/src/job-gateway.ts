import { createHash, randomUUID } from 'node:crypto';
import { Queue, type JobsOptions } from 'bullmq';
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
  type PendingState,
} from '@sched/core';
import { JobReader, ingressJobOptions, producerQueueOptions, readFleetState, type RedisErrorLog, type RedisHealth, type WorkerQueueState } from '@sched/runtime';
import { v5 as uuidv5 } from 'uuid';

/** Index entries are kept this much longer than results (jobs can wait long before finishing). */
const INDEX_GRACE_S = 86_400;
const LIST_BATCH = 100;
/** A listing-index key is trimmed of expired entries at most this often per API process. */
const INDEX_TRIM_INTERVAL_MS = 1000;
/** A store call on many jobs gets one REDIS_TIMEOUT_MS per this many of them. */
const JOBS_PER_TIMEOUT = 100;
/** A listing reads at most this many index pages per request (a filter may match little). */
const LIST_MAX_PAGES = 10;

/** UUID v5 namespace of job ids made from Idempotency-Keys. */
const IDEMPOTENCY_NAMESPACE = '6f1c4c3e-7d2a-5b8e-9a41-2c6d8e0f5a17';

const CONNECTION_ERROR = /Connection is closed|Stream isn't writeable|Command timed out|ECONNREFUSED|ECONNRESET|EPIPE|max retries/i;

/** Who asked, and the key they sent: the same pair names the same job. */
export interface IdempotencyScope {
  /** The caller's `Idempotency-Key` (a batch item's: the batch's key and the item's place, see idempotentJobId). */
  key: string;
  /** The SHA-256 of the caller's API key, or `global` when keys are off. */
  scope: string;
}

/**
 * One job to add. With `idempotency` its id is {@link idempotentJobId}; without, `id` (made by the
 * caller, e.g. to watch the job's status before it is added) or a random UUID.
 */
export type SubmitItem = { request: JobRequest; idempotency: IdempotencyScope; id?: never } | { request: JobRequest; idempotency?: undefined; id?: string };

export interface SubmitAccepted {
  ok: true;
  accepted: JobAccepted;
  /** True when the key had already answered: `accepted` is that first answer, and no job was added now. */
  replayed: boolean;
}

export type SubmitResult = SubmitAccepted | { ok: false; error: SchedError };

/** The job id of an idempotent submission: a UUID v5 of the caller's scope and key. */
export function idempotentJobId(idempotency: IdempotencyScope): string {
  return uuidv5(`${idempotency.scope}\u0000${idempotency.key}`, IDEMPOTENCY_NAMESPACE);
}

/**
 * The key of item `index` of a batch sent with `Idempotency-Key: batchKey`: the batch's key, a NUL
 * and the index. A header value is visible ASCII and never holds a NUL, so no single submission's
 * key names the same job.
 */
export function batchItemKey(batchKey: string, index: number): string {
  return `${batchKey}\u0000${index}`;
}

function jobIdOf(item: SubmitItem): string {
  return item.idempotency === undefined ? (item.id ?? randomUUID()) : idempotentJobId(item.idempotency);
}

export interface JobGatewayOptions {
  /** The API's fail-fast connection for plain commands (`createRedis(url, 'producer')`); no BullMQ queue may use it. */
  redis: Redis;
  /** A fail-fast connection of its own for BullMQ's queues (BullMQ defines its scripts on it). */
  queueConnection: Redis;
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
  private readonly queueConnection: Redis;
  private readonly keys: KeySpace;
  private readonly config: JobGatewayOptions['config'];
  private readonly redisLog: JobGatewayOptions['redisLog'];
  private readonly ingress: Queue<JobPayload>;
  private readonly workerQueues = new Map<string, Queue<JobPayload>>();
  /** When this process last trimmed each listing-index key (ms). */
  private readonly trimmedAt = new Map<string, number>();
  private readonly reader: JobReader;

  constructor(options: JobGatewayOptions) {
    this.redis = options.redis;
    this.queueConnection = options.queueConnection;
    this.config = options.config;
    this.redisLog = options.redisLog;
    this.keys = keySpace(this.config.KEY_PREFIX);
    const classes = new Map(options.catalog.workers.map((w) => [w.id, w.class]));
    this.reader = new JobReader(this.redis, this.keys, (id) => classes.get(id), options.catalog.models);
    this.ingress = this.openQueue(INGRESS_QUEUE);
  }

  /**
   * Adds one job: the one-item case of {@link submitMany}, its refusal (`idempotency_mismatch`) thrown.
   */
  async submit(item: SubmitItem): Promise<SubmitAccepted> {
    const [result] = await this.submitMany([item]);
    if (result === undefined) throw new Error('submitMany answered no result for one item');
    if (!result.ok) throw result.error;
    return result;
  }

  /**
   * Adds jobs to ingress in at most two sequential round trips: the idempotency records of the
   * items that have a key (`SET NX GET`, pipelined; skipped when none has one), then every job to
   * add (`Queue.addBulk`) with the listing index, sent together. Results come in item order: an
   * item whose key already answered gets that first answer (`replayed`), or `idempotency_mismatch`
   * when its body differs. Throws (503) when Redis fails; the records written for the jobs of that
   * add are then deleted, so a key never answers for a job that may not exist (BullMQ's addBulk is a
   * pipeline, not a transaction: some of its jobs may exist, and a retry with the same keys adds
   * those no second time, since a job id BullMQ already has is not added again).
   */
  async submitMany(items: readonly SubmitItem[]): Promise<SubmitResult[]> {
    const createdAt = Date.now();
    const createdIso = new Date(createdAt).toISOString();
    const planned = items.map((item) => {
      const id = jobIdOf(item);
      const accepted: JobAccepted = { id, status: 'queued', model: item.request.model, createdAt: createdIso };
      const bodyHash = item.idempotency === undefined ? undefined : createHash('sha256').update(JSON.stringify(item.request)).digest('hex');
      return { request: item.request, accepted, bodyHash };
    });
    const results: (SubmitResult | undefined)[] = new Array<SubmitResult | undefined>(items.length);
    const keyed = planned.filter((job) => job.bodyHash !== undefined);
    if (keyed.length > 0) {
      const pipeline = this.redis.pipeline();
      for (const job of keyed) {
        const record = JSON.stringify({ bodyHash: job.bodyHash, accepted: job.accepted });
        pipeline.set(this.keys.idempotency(job.accepted.id), record, 'EX', this.config.IDEMPOTENCY_TTL_S, 'NX', 'GET');
      }
      const replies = await this.guard(async () => (await pipeline.exec()) ?? [], keyed.length);
      for (const [i, job] of planned.entries()) {
        if (job.bodyHash === undefined) continue;
        const [error, first] = replies[keyed.indexOf(job)] ?? [new Error('no reply to SET NX GET'), null];
        if (error !== null) throw this.storeError(error);
        if (first === null) continue;
        const earlier = JSON.parse(first as string) as { bodyHash: string; accepted: JobAccepted };
        results[i] =
          earlier.bodyHash === job.bodyHash
            ? { ok: true, accepted: earlier.accepted, replayed: true }
            : {
                ok: false,
                error: new SchedError('idempotency_mismatch', 'this Idempotency-Key was used with a different request body', {
                  fieldErrors: [{ path: 'Idempotency-Key', message: 'already used with another body' }],
                }),
              };
      }
    }
    const toAdd = planned.filter((_, i) => results[i] === undefined);
    if (toAdd.length > 0) {
      try {
        await this.guard(
          () => Promise.all([this.add(toAdd.map((job) => this.ingressEntry(job.request, job.accepted.id, createdAt))), this.writeIndex(toAdd, createdAt)]),
          toAdd.length,
        );
      } catch (error) {
        // Not accepted: their keys must not answer for jobs that may not exist.
        const records = toAdd.filter((job) => job.bodyHash !== undefined).map((job) => this.keys.idempotency(job.accepted.id));
        if (records.length > 0) await this.redis.del(...records).catch(() => undefined);
        throw error;
      }
    }
    return planned.map((job, i) => results[i] ?? { ok: true, accepted: job.accepted, replayed: false });
  }

  /** One job is one `add` (its script call); more are one `addBulk`, a pipeline of them. */
  private async add(entries: readonly { name: string; data: JobPayload; opts: JobsOptions }[]): Promise<void> {
    const [only] = entries;
    if (entries.length === 1 && only !== undefined) await this.ingress.add(only.name, only.data, only.opts);
    else await this.ingress.addBulk([...entries]);
  }

  private ingressEntry(request: JobRequest, id: string, createdAt: number): { name: string; data: JobPayload; opts: JobsOptions } {
    return { name: 'job', data: { ...request, createdAt }, opts: ingressJobOptions(id, BULLMQ_PRIORITY[request.priority], this.config) };
  }

  /**
   * The listing index of the added jobs: one ZADD per index key for the whole batch, and entries
   * older than anything retained trimmed as we go. Sent with the add: if the add fails, an index
   * entry without a job is skipped by listings.
   */
  private async writeIndex(jobs: readonly { request: JobRequest; accepted: JobAccepted }[], createdAt: number): Promise<void> {
    const byKey = new Map<string, (string | number)[]>([[this.keys.jobIndex, []]]);
    for (const { request, accepted } of jobs) {
      byKey.get(this.keys.jobIndex)?.push(createdAt, accepted.id);
      const modelKey = this.keys.jobIndexByModel(request.model);
      const members = byKey.get(modelKey) ?? [];
      members.push(createdAt, accepted.id);
      byKey.set(modelKey, members);
    }
    const pipeline = this.redis.pipeline();
    for (const [key, members] of byKey) pipeline.zadd(key, ...members);
    // Trimming is for memory, not correctness (listings skip entries whose job is gone): each index
    // key is trimmed at most once per INDEX_TRIM_INTERVAL_MS by this process, not on every submit.
    const oldest = createdAt - (this.config.RESULT_TTL_S + INDEX_GRACE_S) * 1000;
    for (const key of byKey.keys()) {
      if ((this.trimmedAt.get(key) ?? -Infinity) > createdAt - INDEX_TRIM_INTERVAL_MS) continue;
      this.trimmedAt.set(key, createdAt);
      pipeline.zremrangebyscore(key, '-inf', oldest);
    }
    await pipeline.exec();
  }

  /** The job's public view (see JobReader.read); null when unknown or expired. */
  async read(id: string, knownRoute?: string): Promise<JobView | null> {
    return this.guard(() => this.reader.read(id, knownRoute));
  }

  /**
   * Many jobs' views at once, in the order asked (null for an unknown job). The reads are issued
   * together, so their commands leave in one write burst and Redis answers them as one pipeline:
   * one round trip (two for jobs that have a route and no `knownRoutes` entry), under one time limit.
   */
  async readMany(ids: readonly string[], knownRoutes: ReadonlyMap<string, string> = new Map()): Promise<(JobView | null)[]> {
    return this.guard(() => Promise.all(ids.map((id) => this.reader.read(id, knownRoutes.get(id)))), ids.length);
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

  /** When a waiting job's deadline passes unannounced (see JobReader.expiresAt); no Redis. */
  expiresAt(state: PendingState): number | undefined {
    return this.reader.expiresAt(state);
  }

  /** Asks the host running `workerId` to stop the job; the number of hosts listening (0: none is). */
  async requestStop(id: string, workerId: string): Promise<number> {
    return this.guard(() => this.redis.publish(this.keys.workerCancelChannel(workerId), id));
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
    const queue = new Queue<JobPayload>(name, producerQueueOptions(this.queueConnection, this.config.KEY_PREFIX));
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
    return this.redisLog.reachable && this.redis.status === 'ready' && this.queueConnection.status === 'ready';
  }

  async close(): Promise<void> {
    await Promise.all([...this.workerQueues.values()].map((q) => q.close()));
    await this.ingress.close();
  }

  /** An error a pipeline reply carried, as the guard would have thrown it. */
  private storeError(error: Error): Error {
    return !this.connected || CONNECTION_ERROR.test(error.message) ? redisUnavailable(error) : error;
  }

  /**
   * Runs a store call against REDIS_TIMEOUT_MS, scaled for a call on many jobs (one limit per
   * JOBS_PER_TIMEOUT of them): a 1,000-job batch legitimately takes longer than one job, while an
   * unreachable Redis still fails at once (the connection's state and errors, not the timer).
   */
  private async guard<T>(operation: () => Promise<T>, jobs = 1): Promise<T> {
    if (!this.connected) throw redisUnavailable();
    let timer: NodeJS.Timeout | undefined;
    const limitMs = this.config.REDIS_TIMEOUT_MS * Math.max(1, Math.ceil(jobs / JOBS_PER_TIMEOUT));
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(redisUnavailable()), limitMs);
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
