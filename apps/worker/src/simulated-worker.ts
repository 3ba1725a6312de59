import { hostname } from 'node:os';
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  JobFailure,
  executionsStarted,
  workerQueueName,
  type Catalog,
  type Config,
  type JobPayload,
  type JobResult,
  type KeySpace,
  type ResolvedWorker,
  type Rng,
  type WorkerDescriptor,
  type WorkerState,
} from '@sched/core';
import { closeRedis, consumerOptions, createRedis, toBullmqError, waitOutRedis, type Logger, type RedisErrorLog, type WebhookOutbox } from '@sched/runtime';
import type { LatencyModel } from '@sched/exec';
import type { WorkerMetrics } from '@sched/telemetry';
import { closeWithin } from './close-within.js';
import type { ExecutionLog } from './execution-log.js';
import { JobReporter } from './job-reporter.js';
import { SimulatedExecutor, type ExecutableJob, type StopReason } from './simulated-executor.js';

export interface SimulatedWorkerOptions {
  readonly config: Pick<Config, 'REDIS_URL' | 'KEY_PREFIX' | 'LOCK_DURATION_MS' | 'RESULT_TTL_S' | 'BULLMQ_EVENTS' | 'MAX_SERVICE_MS' | 'MAX_RESULT_BYTES'>;
  readonly keys: KeySpace;
  readonly latency: LatencyModel;
  /** The model catalog, for deadline checks. */
  readonly models: Catalog['models'];
  /** The host's shared connection for publishing status. */
  readonly publisher: Redis;
  /** Where a job's webhook delivery is reserved and released. */
  readonly outbox: WebhookOutbox;
  /** The host's one owner of Redis error events. */
  readonly redisErrors: RedisErrorLog;
  readonly logger: Logger;
  readonly metrics: WorkerMetrics;
  readonly rng: Rng;
  /** Where each execution start is recorded (`EXECUTION_LOG`); null: nowhere. */
  readonly executionLog: ExecutionLog | null;
}

/**
 * One simulated worker in BullMQ: consumes `worker.<id>` on its own blocking connection, runs each
 * job through a SimulatedExecutor and reports what happened through a JobReporter. Its descriptor
 * is what the host's heartbeat writes.
 */
export class SimulatedWorker {
  private readonly executor: SimulatedExecutor;
  private readonly reporter: JobReporter;
  private readonly startedAt = Date.now();
  private state: WorkerState = 'live';
  private bullWorker: Worker<JobPayload, JobResult> | null = null;
  private connection: Redis | null = null;

  constructor(
    readonly spec: ResolvedWorker,
    private readonly options: SimulatedWorkerOptions,
  ) {
    const { config, keys, publisher, outbox, logger, latency, models, rng, metrics, executionLog } = options;
    this.reporter = new JobReporter({ worker: spec, publisher, keys, outbox, metrics, logger });
    const onRunning = (job: ExecutableJob): void => {
      executionLog?.record({ at: Date.now(), jobId: job.id ?? '', attempt: executionsStarted(job.data, job.attemptsStarted), workerId: spec.id, pid: process.pid });
      this.reporter.running(job);
    };
    this.executor = new SimulatedExecutor({ spec, latency, models, rng, metrics, limits: config, onRunning });
  }

  start(): void {
    const { config, redisErrors } = this.options;
    const name = `worker:${this.spec.id}`;
    // BullMQ does not close a connection it was given; drain() does.
    this.connection = createRedis(config.REDIS_URL, 'blocking', { connectionName: name, bullmqEvents: config.BULLMQ_EVENTS });
    redisErrors.watchConnection(this.connection, name);
    const worker = new Worker<JobPayload, JobResult>(
      workerQueueName(this.spec.id),
      // Three parameters: BullMQ passes an AbortSignal (aborted by cancelJob) only to a processor that declares it.
      (job, token, signal) => this.run(job, token, signal),
      consumerOptions(this.connection, config.KEY_PREFIX, {
        concurrency: this.executor.concurrency,
        lockDuration: config.LOCK_DURATION_MS,
        stalledInterval: config.LOCK_DURATION_MS,
      }),
    );
    redisErrors.watch(worker, `consumer:${workerQueueName(this.spec.id)}`);
    worker.on('completed', (job) => this.reporter.completed(job));
    worker.on('failed', (job, error) => {
      if (job !== undefined) this.reporter.failed(job, error);
    });
    this.bullWorker = worker;
  }

  descriptor(now: number): WorkerDescriptor {
    const { spec, executor } = this;
    return {
      id: spec.id,
      class: spec.class,
      models: spec.models,
      slots: spec.slots,
      state: this.state,
      host: hostname(),
      pid: process.pid,
      startedAt: this.startedAt,
      heartbeatAt: now,
      serviceMs: executor.stats.snapshot(),
      batchSize: executor.stats.batchSize,
      maxBatch: spec.maxBatch ?? 1,
      busy: executor.busy,
      costPerHour: spec.costPerHour ?? 0,
    };
  }

  /** Stop taking jobs; let active ones finish within `deadlineMs`, then force-close (their locks expire and they are retried). */
  async drain(deadlineMs: number): Promise<void> {
    this.state = 'draining';
    try {
      if (this.bullWorker !== null && !(await closeWithin(this.bullWorker, deadlineMs))) {
        this.options.logger.warn({ worker: this.spec.id, active: this.executor.busy }, 'drain deadline passed; closed with jobs active (they will be retried)');
      }
    } finally {
      if (this.connection !== null) await closeRedis(this.connection);
    }
  }

  /**
   * Stops the job if this worker is executing it (a `DELETE` of a running job): it ends `cancelled`,
   * not retried. False when it is not active here (not fetched yet, or already finished).
   */
  cancel(jobId: string): boolean {
    return this.bullWorker?.cancelJob(jobId, 'cancelled' satisfies StopReason) ?? false;
  }

  /** BullMQ's processor: what it records as the job's result, or its failure. */
  private async run(job: Job<JobPayload, JobResult>, token: string | undefined, signal: AbortSignal | undefined): Promise<JobResult> {
    // Before the job can finish, its webhook delivery is reserved (a delayed safety net, promoted on
    // finish). Redis refusing it (full, read-only) puts the job back in its queue for later, unrun.
    await this.options.outbox.reserve(job.id ?? '', job.data).catch((error: unknown) => waitOutRedis(job, token, error, this.options.logger));
    try {
      return await this.executor.execute(job, signal);
    } catch (error) {
      throw error instanceof JobFailure ? toBullmqError(error) : error;
    }
  }
}
