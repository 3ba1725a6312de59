import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  encodeDescriptor,
  encodeJobError,
  latestStartAt,
  workerQueueName,
  type Config,
  type Catalog,
  type JobPayload,
  type JobResult,
  type KeySpace,
  type ResolvedWorker,
  type Rng,
  type StatusMessage,
  type WorkerDescriptor,
  type WorkerState,
} from '@sched/core';
import { closeRedis, createRedis, type Logger, type WebhookOutbox } from '@sched/runtime';
import { simulateOutput, type LatencyModel } from '@sched/exec';
import type { WorkerMetrics } from '@sched/telemetry';
import { BatchExecutor } from './batch-executor.js';
import { ServiceStats } from './service-stats.js';

export interface SimulatedWorkerDeps {
  config: Config;
  keys: KeySpace;
  latency: LatencyModel;
  /** The model catalog, for deadline checks. */
  models: Catalog['models'];
  /** Shared connection for publishing status and heartbeats. */
  publisher: Redis;
  /** Where a finished job's webhook delivery goes. */
  outbox: WebhookOutbox;
  logger: Logger;
  metrics: WorkerMetrics;
  rng: Rng;
}

/** One simulated worker: consumes `worker.<id>` with `slots` concurrency and sleeps the sampled latency. */
export class SimulatedWorker {
  readonly spec: ResolvedWorker;
  private readonly deps: SimulatedWorkerDeps;
  private readonly stats = new ServiceStats();
  private readonly startedAt = Date.now();
  private readonly log: Logger;
  private bullWorker: Worker<JobPayload, JobResult> | null = null;
  private connection: Redis | null = null;
  /** Dynamic batching, when the fleet file gives this worker a maxBatch above 1. */
  private readonly batches: BatchExecutor<Job<JobPayload, JobResult>> | null;
  private state: WorkerState = 'live';
  private busy = 0;

  constructor(spec: ResolvedWorker, deps: SimulatedWorkerDeps) {
    this.spec = spec;
    this.deps = deps;
    this.log = deps.logger.child({ worker: spec.id });
    deps.metrics.slots.set({ worker: spec.id, class: spec.class }, spec.slots);
    deps.metrics.busySlots.set({ worker: spec.id, class: spec.class }, 0);
    deps.metrics.jobCost.inc({ class: spec.class, worker: spec.id }, 0);
    const maxBatch = spec.maxBatch ?? 1;
    this.batches =
      maxBatch > 1
        ? new BatchExecutor({
            cls: spec.class,
            slots: spec.slots,
            maxBatch,
            maxQueueDelayMs: spec.maxQueueDelayMs ?? 0,
            latency: deps.latency,
            rng: deps.rng,
            onStart: (jobs) => {
              // One slot per batch; every job in it is now running.
              this.markBusy(null, 1);
              for (const job of jobs) this.publish({ id: job.id ?? '', status: 'running', worker: this.spec.id, at: Date.now(), attempt: job.attemptsStarted });
            },
            onFinish: () => this.markBusy(null, -1),
          })
        : null;
  }

  start(): void {
    const { config } = this.deps;
    // BullMQ does not close a connection it was given; drain() does.
    this.connection = createRedis(config.REDIS_URL, 'blocking', { connectionName: `worker:${this.spec.id}` });
    this.connection.on('error', () => undefined);
    const worker = new Worker<JobPayload, JobResult>(workerQueueName(this.spec.id), (job) => this.run(job), {
      connection: this.connection,
      prefix: config.KEY_PREFIX,
      // With batching, enough jobs must be active at once to fill a batch per slot, plus one batch
      // gathering while they run: without it, a freed slot found nothing gathered (the running batch
      // held every BullMQ slot), fetched jobs one by one and fired a part batch after maxQueueDelayMs.
      concurrency: (this.spec.maxBatch ?? 1) > 1 ? (this.spec.slots + 1) * (this.spec.maxBatch ?? 1) : this.spec.slots,
      lockDuration: config.LOCK_DURATION_MS,
      stalledInterval: config.LOCK_DURATION_MS,
      // No skipVersionCheck on a Worker: without the version BullMQ assumes Redis 5 and rounds every
      // blocking wait up to whole seconds, so a retry's 200 ms backoff would take a second.
    });
    worker.on('completed', (job, result) => this.onCompleted(job, result));
    worker.on('failed', (job, error) => this.onFailed(job, error));
    worker.on('error', (error) => this.log.warn({ err: error.message }, 'worker connection error'));
    this.bullWorker = worker;
  }

  descriptor(now: number): WorkerDescriptor {
    return {
      id: this.spec.id,
      class: this.spec.class,
      models: this.spec.models,
      slots: this.spec.slots,
      state: this.state,
      host: hostname(),
      pid: process.pid,
      startedAt: this.startedAt,
      heartbeatAt: now,
      serviceMs: this.stats.snapshot(),
      batchSize: this.stats.batchSize,
      maxBatch: this.spec.maxBatch ?? 1,
      busy: this.busy,
      costPerHour: this.spec.costPerHour ?? 0,
    };
  }

  /** Adds this worker's heartbeat to a pipeline: descriptor with a TTL of three beats, and its fleet-set score. */
  heartbeat(pipeline: ReturnType<Redis['pipeline']>, now: number): void {
    const { keys, config } = this.deps;
    const key = keys.workerDescriptor(this.spec.id);
    pipeline.hset(key, encodeDescriptor(this.descriptor(now)));
    pipeline.pexpire(key, config.HEARTBEAT_MS * 3);
    pipeline.zadd(keys.fleetSet, now, this.spec.id);
  }

  /** Stop taking jobs; let active ones finish within the deadline, then force-close. */
  async drain(deadlineMs: number): Promise<void> {
    this.state = 'draining';
    const worker = this.bullWorker;
    if (worker === null) return;
    let timer: NodeJS.Timeout | undefined;
    const graceful = worker.close().then(() => true);
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), deadlineMs);
    });
    const finished = await Promise.race([graceful, timedOut]);
    clearTimeout(timer);
    if (!finished) {
      this.log.warn({ active: this.busy }, 'drain deadline passed; closing with jobs active (they will be retried)');
      await worker.close(true);
    }
    if (this.connection) await closeRedis(this.connection);
  }

  private async run(job: Job<JobPayload, JobResult>): Promise<JobResult> {
    const { latency, rng } = this.deps;
    const payload = job.data;
    // Before the job can finish, its webhook delivery is reserved (a delayed safety net, promoted on finish).
    await this.deps.outbox.reserve(job.id ?? '', payload);
    // A job that can no longer finish in time is skipped, never run.
    if ((latestStartAt(this.deps.models, payload, this.spec.class) ?? Infinity) < Date.now()) {
      throw new UnrecoverableError(
        encodeJobError({ code: 'deadline_exceeded', message: `picked up too late for its ${payload.deadlineMs} ms deadline; not run` }),
      );
    }
    if (this.batches !== null) {
      const { serviceMs, batchSize } = await this.batches.run(job, payload.model, payload.size);
      this.stats.recordBatch(batchSize);
      return this.finishRun(job, serviceMs / batchSize);
    }
    this.markBusy(job, 1);
    try {
      const serviceMs = latency.sampleMs(payload.model, this.spec.class, rng, payload.size);
      // The simulated execution spans processedOn → finish, as a real one would; the time BullMQ
      // took to hand the job over since processedOn is part of it, not added on top.
      await sleep(Math.max(0, serviceMs - (Date.now() - (job.processedOn ?? Date.now()))));
      this.stats.recordBatch(1);
      return this.finishRun(job, serviceMs);
    } finally {
      this.markBusy(job, -1);
    }
  }

  /** Failure injection and the result, once the (simulated) execution is over. */
  private finishRun(job: Job<JobPayload, JobResult>, perJobServiceMs: number): JobResult {
    const payload = job.data;
    if (this.spec.failureRate !== undefined && this.deps.rng() < this.spec.failureRate) {
      throw new Error(encodeJobError({ code: 'execution_failed', message: `simulated failure on ${this.spec.id}` }));
    }
    this.stats.record(payload.model, perJobServiceMs);
    // Billed by busy time, as on per-second cloud billing: a job costs its share of the execution.
    const price = this.spec.costPerHour ?? 0;
    if (price > 0) this.deps.metrics.jobCost.inc({ class: this.spec.class, worker: this.spec.id }, (perJobServiceMs / 3_600_000) * price);
    return { model: payload.model, worker: this.spec.id, class: this.spec.class, output: simulateOutput(payload.model, payload.input) };
  }

  /** A slot starts (+1) or stops (−1) executing; starting publishes `running`. */
  private markBusy(job: Job<JobPayload, JobResult> | null, delta: 1 | -1): void {
    this.busy += delta;
    this.deps.metrics.busySlots.inc({ worker: this.spec.id, class: this.spec.class }, delta);
    if (job !== null && delta === 1) this.publish({ id: job.id ?? '', status: 'running', worker: this.spec.id, at: Date.now(), attempt: job.attemptsStarted });
  }

  private onCompleted(job: Job<JobPayload, JobResult>, _result: JobResult): void {
    const id = job.id ?? '';
    const now = Date.now();
    this.finish(id, 'completed', now, now - job.data.createdAt, job.attemptsStarted);
    this.releaseWebhook(job);
    this.observe(job, 'completed', now);
    this.log.debug({ jobId: id, serviceMs: now - (job.processedOn ?? now) }, 'job completed');
  }

  private onFailed(job: Job<JobPayload, JobResult> | undefined, error: Error): void {
    if (job === undefined) return;
    const id = job.id ?? '';
    const now = Date.now();
    // BullMQ sets finishedOn only when no retry is left.
    if (job.finishedOn === undefined) {
      this.deps.outbox.forget(id);
      this.publish({ id, status: 'dispatched', worker: this.spec.id, retry: true, at: now, attempt: job.attemptsStarted });
      this.deps.metrics.jobsCompleted.inc({ model: job.data.model, class: this.spec.class, worker: this.spec.id, outcome: 'retried' });
      this.log.info({ jobId: id, attempt: job.attemptsMade, err: error.message }, 'job attempt failed; retrying');
      return;
    }
    this.finish(id, 'failed', now, now - job.data.createdAt, job.attemptsStarted);
    this.releaseWebhook(job);
    this.observe(job, 'failed', now);
    this.log.warn({ jobId: id, attempts: job.attemptsMade, err: error.message }, 'job failed');
  }

  /** Terminal: publish, and keep the route exactly as long as the job's result. */
  private finish(id: string, status: 'completed' | 'failed', now: number, totalMs: number, attempt: number): void {
    const { publisher, keys, config } = this.deps;
    const message: StatusMessage = { id, status, worker: this.spec.id, at: now, totalMs, attempt };
    publisher
      .pipeline()
      .expire(keys.route(id), config.RESULT_TTL_S)
      .publish(keys.statusChannel, JSON.stringify(message))
      .exec()
      .catch((error: unknown) => this.log.warn({ jobId: id, err: String(error) }, 'could not publish status'));
  }

  private releaseWebhook(job: Job<JobPayload, JobResult>): void {
    this.deps.outbox
      .release(job.id ?? '', job.data)
      // The reserved delivery still fires after WEBHOOK_RECHECK_MS.
      .catch((error: unknown) => this.log.warn({ jobId: job.id, err: String(error) }, 'could not release webhook; it goes out after the re-check delay'));
  }

  private observe(job: Job<JobPayload, JobResult>, outcome: 'completed' | 'failed', now: number): void {
    const { metrics } = this.deps;
    const labels = { model: job.data.model, class: this.spec.class };
    const started = job.processedOn ?? now;
    metrics.jobsCompleted.inc({ ...labels, worker: this.spec.id, outcome });
    metrics.jobDuration.observe({ ...labels, stage: 'queue' }, (started - job.data.createdAt) / 1000);
    metrics.jobDuration.observe({ ...labels, stage: 'service' }, (now - started) / 1000);
    metrics.jobDuration.observe({ ...labels, stage: 'total' }, (now - job.data.createdAt) / 1000);
  }

  private publish(message: StatusMessage): void {
    this.deps.publisher
      .publish(this.deps.keys.statusChannel, JSON.stringify(message))
      .catch((error: unknown) => this.log.warn({ jobId: message.id, err: String(error) }, 'could not publish status'));
  }
}
