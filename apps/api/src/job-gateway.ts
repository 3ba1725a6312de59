import { createHash, randomUUID } from 'node:crypto';
import { Queue, type JobsOptions } from 'bullmq';
import { ReplyError, type Redis } from 'ioredis';
import {
  BULLMQ_PRIORITY,
  INGRESS_QUEUE,
  SchedError,
  isRedisUnavailableError,
  USAGE_FIELDS,
  canSeeJob,
  encodeTerminalRecord,
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
  type OwnedJob,
  type Tenant,
  type PendingState,
} from '@sched/core';
import { JobReader, ingressJobOptions, producerQueueOptions, readFleetState, type RedisErrorLog, type RedisHealth, type WorkerQueueState } from '@sched/runtime';
import { v5 as uuidv5 } from 'uuid';
import { IdempotencyRecords, type ClaimedRecord } from './idempotency-records.js';
import { TenantJobs } from './tenant-jobs.js';

/** Index entries are kept this much longer than results (jobs can wait long before finishing). */
export const INDEX_GRACE_S = 86_400;
/** A listing-index key is trimmed of expired entries at most this often per API process. */
const INDEX_TRIM_INTERVAL_MS = 1000;
/** A store call on many jobs gets one REDIS_TIMEOUT_MS per this many of them. */
const JOBS_PER_TIMEOUT = 100;
/**
 * A listing reads at most this many jobs per request: a `status` filter that matches few of them
 * answers a short (even empty) page with `nextCursor`, rather than reading on through the index.
 */
export const LIST_READ_BUDGET = 100;

/** UUID v5 namespace of job ids made from Idempotency-Keys. */
const IDEMPOTENCY_NAMESPACE = '6f1c4c3e-7d2a-5b8e-9a41-2c6d8e0f5a17';

/** Whether Redis answered the add with an error (so none of it can land later), rather than not answering in time. */
function refusedByRedis(error: unknown): boolean {
  const cause = error instanceof SchedError ? error.cause : error;
  return cause instanceof ReplyError;
}

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
export type SubmitItem = ({ request: JobRequest; idempotency: IdempotencyScope; id?: never } | { request: JobRequest; idempotency?: undefined; id?: string }) & {
  /** The failed job this one retries (`POST /v1/jobs/:id/retry`). */
  retryOf?: string;
  /** The owner's fair-sharing weight (API_KEYS_FILE `weight`). @defaultValue 1 */
  weight?: number;
};

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
  private readonly idempotency: IdempotencyRecords;

  constructor(options: JobGatewayOptions) {
    this.redis = options.redis;
    this.queueConnection = options.queueConnection;
    this.config = options.config;
    this.redisLog = options.redisLog;
    this.keys = keySpace(this.config.KEY_PREFIX);
    const classes = new Map(options.catalog.workers.map((w) => [w.id, w.class]));
    this.reader = new JobReader(this.redis, this.keys, (id) => classes.get(id), options.catalog.models);
    this.ingress = this.openQueue(INGRESS_QUEUE);
    this.idempotency = new IdempotencyRecords(this.redis, this.keys, this.config.IDEMPOTENCY_TTL_S);
  }

  /**
   * Adds one job: the one-item case of {@link submitMany}, its refusal (`idempotency_mismatch`, `idempotency_in_progress`) thrown.
   */
  async submit(item: SubmitItem, owner: string): Promise<SubmitAccepted> {
    const [result] = await this.submitMany([item], owner);
    if (result === undefined) throw new Error('submitMany answered no result for one item');
    if (!result.ok) throw result.error;
    return result;
  }

  /**
   * Adds jobs to ingress in at most two sequential round trips before the answer: the claims of the
   * items that have a key (one idempotency script call each, pipelined; skipped when none has one),
   * then every job to add (`Queue.addBulk`) with the listing index, sent together. The records of the
   * added jobs are then committed, not waited for (see IdempotencyRecords: a pending record is
   * checked against its job). Results come in item order: an item whose key already answered gets
   * that first answer (`replayed`) when its job exists, `idempotency_in_progress` (409) while
   * another request's add of it may still land, or `idempotency_mismatch` when its body differs.
   *
   * Throws (503) when Redis fails. When Redis refused the add (an error reply: out of memory,
   * read-only), the records written for it are released, so a retry adds the job; when the add may
   * still land (a timeout, a dropped connection), they stay pending and the error names the job id
   * of a single submission (`jobId`), which the job has if it lands (BullMQ's addBulk is a pipeline,
   * not a transaction: some of its jobs may exist, and a retry with the same keys answers those).
   */
  async submitMany(items: readonly SubmitItem[], owner: string): Promise<SubmitResult[]> {
    const createdAt = Date.now();
    const createdIso = new Date(createdAt).toISOString();
    const planned = items.map((item) => {
      const id = jobIdOf(item);
      const accepted: JobAccepted = { id, status: 'queued', model: item.request.model, createdAt: createdIso };
      const bodyHash = item.idempotency === undefined ? undefined : createHash('sha256').update(JSON.stringify(item.request)).digest('hex');
      return { request: item.request, retryOf: item.retryOf, weight: item.weight, accepted, bodyHash };
    });
    const results: (SubmitResult | undefined)[] = new Array<SubmitResult | undefined>(items.length);
    const keyed = planned.flatMap((job, index) => (job.bodyHash === undefined ? [] : [{ index, bodyHash: job.bodyHash, accepted: job.accepted }]));
    const claimed: ClaimedRecord[] = [];
    if (keyed.length > 0) {
      const pipeline = this.redis.pipeline();
      // A claim's add must have landed or failed by the time its in-flight marker expires: twice the time limit of the add.
      const { records, parse } = this.idempotency.claim(pipeline, keyed, 2 * this.limitMs(items.length));
      const replies = await this.guard(async () => (await pipeline.exec()) ?? [], keyed.length);
      const claims = keyed.map((_, k) => {
        const [error, reply] = replies[k] ?? [new Error('no reply to the idempotency claim'), null];
        return error === null ? parse(reply) : error;
      });
      const failure = claims.find((claim) => claim instanceof Error);
      if (failure !== undefined) {
        // The keys this request did claim are free again: no add follows.
        await this.idempotency.release(records.filter((_, k) => !(claims[k] instanceof Error) && claims[k]?.kind === 'claimed')).catch(() => undefined);
        throw this.storeError(failure);
      }
      for (const [k, item] of keyed.entries()) {
        const claim = claims[k];
        if (claim === undefined || claim instanceof Error) continue;
        if (claim.kind === 'claimed') {
          const record = records[k];
          if (record !== undefined) claimed.push(record);
          continue;
        }
        results[item.index] =
          claim.bodyHash !== item.bodyHash
            ? {
                ok: false,
                error: new SchedError('idempotency_mismatch', 'this Idempotency-Key was used with a different request body', {
                  fieldErrors: [{ path: 'Idempotency-Key', message: 'already used with another body' }],
                }),
              }
            : claim.kind === 'replay'
              ? { ok: true, accepted: claim.accepted, replayed: true }
              : {
                  ok: false,
                  error: new SchedError('idempotency_in_progress', 'a request with this Idempotency-Key is still adding its job; retry shortly', {
                    retryAfterS: 1,
                    jobId: claim.accepted.id,
                  }),
                };
      }
    }
    const toAdd = planned.filter((_, i) => results[i] === undefined);
    if (toAdd.length > 0) {
      let sent = false;
      try {
        await this.guard(() => {
          sent = true;
          return Promise.all([
            this.add(
              toAdd.map((job) =>
                this.ingressEntry(job.request, job.accepted.id, {
                  createdAt,
                  owner,
                  ...(job.retryOf === undefined ? {} : { retryOf: job.retryOf }),
                  ...(job.weight === undefined || job.weight === 1 ? {} : { weight: job.weight }),
                }),
              ),
            ),
            this.writeIndex(toAdd, createdAt, owner),
          ]);
        }, toAdd.length);
      } catch (error) {
        if (!sent || refusedByRedis(error)) {
          // Never sent, or Redis answered it with an error: nothing of it may land later, so the keys are free again.
          await this.idempotency.release(claimed).catch(() => undefined);
          throw error;
        }
        // The add may still land: its records stay pending (a retry waits for the in-flight marker,
        // then finds the job or takes the key over), and a single job's problem names its id.
        const [only] = toAdd;
        throw error instanceof SchedError && sent && toAdd.length === 1 && only !== undefined ? error.withJobId(only.accepted.id) : error;
      }
      this.idempotency.commit(claimed).catch(() => undefined);
    }
    return planned.map((job, i) => results[i] ?? { ok: true, accepted: job.accepted, replayed: false });
  }

  /** One job is one `add` (its script call); more are one `addBulk`, a pipeline of them. */
  private async add(entries: readonly { name: string; data: JobPayload; opts: JobsOptions }[]): Promise<void> {
    const [only] = entries;
    if (entries.length === 1 && only !== undefined) await this.ingress.add(only.name, only.data, only.opts);
    else await this.ingress.addBulk([...entries]);
  }

  private ingressEntry(request: JobRequest, id: string, stamp: Pick<JobPayload, 'createdAt' | 'owner' | 'retryOf' | 'weight'>): { name: string; data: JobPayload; opts: JobsOptions } {
    return { name: 'job', data: { ...request, ...stamp }, opts: ingressJobOptions(id, BULLMQ_PRIORITY[request.priority], this.config) };
  }

  /**
   * The listing index of the added jobs: one ZADD per index key for the whole batch, and entries
   * older than anything retained trimmed as we go. Sent with the add: if the add fails, an index
   * entry without a job is skipped by listings.
   */
  private async writeIndex(jobs: readonly { request: JobRequest; accepted: JobAccepted }[], createdAt: number, owner: string): Promise<void> {
    const byKey = new Map<string, (string | number)[]>();
    for (const { request, accepted } of jobs) {
      for (const key of this.indexKeys(owner, request.model)) {
        const members = byKey.get(key) ?? [];
        members.push(createdAt, accepted.id);
        byKey.set(key, members);
      }
    }
    const pipeline = this.redis.pipeline();
    for (const [key, members] of byKey) pipeline.zadd(key, ...members);
    pipeline.hincrby(this.keys.usage(owner), USAGE_FIELDS.submitted, jobs.length);
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

  /** The listing-index keys a job of `owner` and `model` is entered under. */
  private indexKeys(owner: string, model: string): string[] {
    return [this.keys.jobIndex, this.keys.jobIndexByModel(model), this.keys.jobIndexByOwner(owner), this.keys.jobIndexByOwnerModel(owner, model)];
  }

  /** The job's public view and owner (see JobReader.readOwned); null when unknown or expired. Callers show it through TenantJobs. */
  async readOwned(id: string, knownRoute?: string): Promise<OwnedJob | null> {
    return this.guard(() => this.reader.readOwned(id, knownRoute));
  }

  /**
   * Many jobs at once, in the order asked (null for an unknown job). The reads are issued
   * together, so their commands leave in one write burst and Redis answers them as one pipeline:
   * one round trip (two for jobs that have a route and no `knownRoutes` entry), under one time limit.
   */
  async readManyOwned(ids: readonly string[], knownRoutes: ReadonlyMap<string, string> = new Map()): Promise<(OwnedJob | null)[]> {
    return this.guard(() => Promise.all(ids.map((id) => this.reader.readOwned(id, knownRoutes.get(id)))), ids.length);
  }

  /** The jobs `viewer` may see, through one rule (see TenantJobs). */
  visibleTo(viewer: Tenant): TenantJobs {
    return new TenantJobs(this, viewer);
  }

  /**
   * Newest first from a listing index (never a scan of keys): an admin's is every job's, anyone
   * else's its own jobs' (per owner, and per owner and model), so a tenant reads only its jobs.
   * Reads the entries after `cursor` (one ZREVRANGEBYSCORE per page; a cursor inside a group of
   * same-millisecond entries, e.g. a batch, is found by one more), and at most LIST_READ_BUDGET jobs:
   * without a status filter exactly the `limit` it needs; with one, ahead up to the budget. When the
   * budget runs out first the page may hold fewer than `limit` jobs and `next` says where to go on.
   */
  async list(
    filter: { status?: JobView['status']; model?: string; limit: number; cursor?: JobListCursor },
    viewer: Pick<Tenant, 'id' | 'admin'>,
  ): Promise<{ jobs: JobView[]; next?: JobListCursor }> {
    const key = viewer.admin
      ? filter.model === undefined
        ? this.keys.jobIndex
        : this.keys.jobIndexByModel(filter.model)
      : filter.model === undefined
        ? this.keys.jobIndexByOwner(viewer.id)
        : this.keys.jobIndexByOwnerModel(viewer.id, filter.model);
    const cursor = filter.cursor;
    const max = cursor === undefined ? '+inf' : String(cursor.score);
    // Same-score members come in reverse id order: the cursor's own and those before it were listed.
    let offset = cursor === undefined ? 0 : await this.guard(async () => (await this.redis.zrevrangebyscore(key, max, max)).filter((id) => id >= cursor.id).length);
    const jobs: JobView[] = [];
    let read = 0;
    let last: JobListCursor | undefined;
    while (read < LIST_READ_BUDGET) {
      const want = filter.status === undefined ? filter.limit - jobs.length : LIST_READ_BUDGET - read;
      const batch = await this.guard(() => this.redis.zrevrangebyscore(key, max, '-inf', 'WITHSCORES', 'LIMIT', offset, want));
      const entries: JobListCursor[] = [];
      for (let i = 0; i + 1 < batch.length; i += 2) entries.push({ id: batch[i] as string, score: Number(batch[i + 1]) });
      offset += entries.length;
      read += entries.length;
      // The page's jobs are read at once (their commands go out together), then taken in order.
      const owned = await this.readManyOwned(entries.map((entry) => entry.id));
      for (const [i, entry] of entries.entries()) {
        last = entry;
        const job = owned[i] ?? null;
        if (job === null || !canSeeJob(viewer, job.owner) || (filter.status !== undefined && job.view.status !== filter.status)) continue;
        jobs.push(job.view);
        if (jobs.length === filter.limit) return { jobs, next: entry };
      }
      // The index is exhausted: no next page.
      if (entries.length < want) return { jobs };
    }
    return last === undefined ? { jobs } : { jobs, next: last };
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

  /** The payload a job was submitted with (its input included); null when it is gone or left no queue job (a terminal record). */
  async readPayload(id: string): Promise<JobPayload | null> {
    return this.guard(async () => {
      const [[, ingressData], [, route]] = ((await this.redis.multi().hget(this.keys.jobHash(INGRESS_QUEUE, id), 'data').get(this.keys.route(id)).exec()) ?? [
        [null, null],
        [null, null],
      ]) as [[unknown, string | null], [unknown, string | null]];
      const data = ingressData ?? (route === null ? null : await this.redis.hget(this.keys.jobHash(workerQueueName(route), id), 'data'));
      return data === null ? null : (JSON.parse(data) as JobPayload);
    });
  }

  /**
   * Deletes a finished job's data before its retention ends: its queue jobs (ingress, and the
   * worker queue's), route, terminal and webhook records, Idempotency-Key record and listing
   * entries. 409 when a queue still holds it locked (being dispatched or run): nothing is deleted.
   */
  async purge(job: { id: string; owner: string; model: string; workerId?: string }): Promise<void> {
    const { id } = job;
    const removed = await Promise.all([this.remove(id), job.workerId === undefined ? true : this.remove(id, job.workerId)]);
    if (!removed.every(Boolean)) throw new SchedError('job_not_cancellable', `job ${id} is being dispatched or run; try again once it has finished`);
    const pipeline = this.redis.pipeline().del(this.keys.route(id), this.keys.terminal(id), this.keys.webhookState(id), this.keys.idempotency(id));
    for (const key of this.indexKeys(job.owner, job.model)) pipeline.zrem(key, id);
    await this.guard(async () => {
      for (const [error] of (await pipeline.exec()) ?? []) if (error !== null) throw this.storeError(error);
    });
  }

  /** The usage counters of each owner (see USAGE_FIELDS), in the order asked: one round trip. */
  async usage(owners: readonly string[]): Promise<Record<string, string>[]> {
    const pipeline = this.redis.pipeline();
    for (const owner of owners) pipeline.hgetall(this.keys.usage(owner));
    return this.guard(async () =>
      ((await pipeline.exec()) ?? []).map(([error, record]) => {
        if (error !== null) throw this.storeError(error);
        return record as Record<string, string>;
      }),
    );
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
  async recordTerminal(job: OwnedJob): Promise<void> {
    const multi = this.redis.multi().set(this.keys.terminal(job.view.id), encodeTerminalRecord(job), 'EX', this.config.RESULT_TTL_S);
    if (job.view.status === 'cancelled') multi.hincrby(this.keys.usage(job.owner), USAGE_FIELDS.cancelled, 1);
    await this.guard(() => multi.exec());
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
    return !this.connected || isRedisUnavailableError(error) ? redisUnavailable(error) : error;
  }

  /** The time limit of a store call on `jobs` jobs (one REDIS_TIMEOUT_MS per JOBS_PER_TIMEOUT of them). */
  private limitMs(jobs: number): number {
    return this.config.REDIS_TIMEOUT_MS * Math.max(1, Math.ceil(jobs / JOBS_PER_TIMEOUT));
  }

  /**
   * Runs a store call against REDIS_TIMEOUT_MS, scaled for a call on many jobs (one limit per
   * JOBS_PER_TIMEOUT of them): a 1,000-job batch legitimately takes longer than one job, while an
   * unreachable Redis still fails at once (the connection's state and errors, not the timer).
   */
  private async guard<T>(operation: () => Promise<T>, jobs = 1): Promise<T> {
    if (!this.connected) throw redisUnavailable();
    let timer: NodeJS.Timeout | undefined;
    const limitMs = this.limitMs(jobs);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(redisUnavailable()), limitMs);
    });
    try {
      return await Promise.race([operation(), timeout]);
    } catch (error) {
      if (error instanceof SchedError) throw error;
      if (!this.connected || isRedisUnavailableError(error)) throw redisUnavailable(error);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}
