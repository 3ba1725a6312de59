import { setTimeout as sleep } from 'node:timers/promises';
import type { Job } from 'bullmq';
import { JobFailure, latestStartAt, type Catalog, type Config, type JobPayload, type JobResult, type ResolvedWorker, type Rng } from '@sched/core';
import { busyCost, simulateOutput, type LatencyModel } from '@sched/exec';
import type { WorkerMetrics } from '@sched/telemetry';
import { BatchExecutor } from './batch-executor.js';
import { ServiceStats } from './service-stats.js';

/** What an execution reads of a BullMQ job. */
export type ExecutableJob = Pick<Job<JobPayload, JobResult>, 'id' | 'data' | 'processedOn' | 'attemptsStarted'>;

export interface SimulatedExecutorOptions {
  /** The fleet file's worker: its class, slots, batching, failure rate and price. */
  readonly spec: ResolvedWorker;
  readonly latency: LatencyModel;
  /** The model catalog, for the deadline check at pickup. */
  readonly models: Catalog['models'];
  readonly rng: Rng;
  readonly metrics: Pick<WorkerMetrics, 'slots' | 'busySlots' | 'jobCost'>;
  /** How long one job may execute, and how large its result may be. */
  readonly limits: Pick<Config, 'MAX_SERVICE_MS' | 'MAX_RESULT_BYTES'>;
  /** A job starts executing: alone, or as its batch starts. */
  readonly onRunning: (job: ExecutableJob) => void;
}

/** Why an execution is stopped before its end: the abort reason `Worker.cancelJob` is given, or the executor's own timer. */
export type StopReason = 'cancelled' | 'timeout';

/**
 * What a simulated worker does with a job BullMQ hands over: skip it if it can no longer meet its
 * deadline, sleep a latency sampled from the fleet file (alone, or in a dynamic batch), fail with
 * the worker's `failureRate`, and keep what the heartbeat reports (busy slots, observed service
 * times, mean batch size). An execution stops when its signal aborts (cancelled) or after
 * MAX_SERVICE_MS (timeout); a result over MAX_RESULT_BYTES fails the job. Nothing here talks to Redis.
 */
export class SimulatedExecutor {
  readonly stats = new ServiceStats();
  private busySlots = 0;
  /** Dynamic batching, when the fleet file gives the worker a maxBatch above 1. */
  private readonly batches: BatchExecutor<ExecutableJob> | null;
  // Each metric's labels in the order its exposition has always shown them.
  private readonly slotLabels: { worker: string; class: string };
  private readonly costLabels: { class: string; worker: string };

  constructor(private readonly options: SimulatedExecutorOptions) {
    const { spec, metrics } = options;
    this.slotLabels = { worker: spec.id, class: spec.class };
    this.costLabels = { class: spec.class, worker: spec.id };
    metrics.slots.set(this.slotLabels, spec.slots);
    metrics.busySlots.set(this.slotLabels, 0);
    metrics.jobCost.inc(this.costLabels, 0);
    const maxBatch = spec.maxBatch ?? 1;
    this.batches =
      maxBatch > 1
        ? new BatchExecutor({
            cls: spec.class,
            slots: spec.slots,
            maxBatch,
            maxQueueDelayMs: spec.maxQueueDelayMs ?? 0,
            latency: options.latency,
            rng: options.rng,
            // One slot per batch; every job in it is now running.
            onStart: (jobs) => {
              this.markBusy(1);
              for (const job of jobs) options.onRunning(job);
            },
            onFinish: () => this.markBusy(-1),
          })
        : null;
  }

  /**
   * Jobs BullMQ should hand over at once: the slots, or with batching enough to fill a batch per
   * slot plus one batch gathering while they run. With `slots × maxBatch` a running batch held
   * every BullMQ slot, so a freed slot found nothing gathered, fetched jobs one by one and fired a
   * part batch after maxQueueDelayMs.
   */
  get concurrency(): number {
    const { slots, maxBatch = 1 } = this.options.spec;
    return maxBatch > 1 ? (slots + 1) * maxBatch : slots;
  }

  /** Slots executing now. */
  get busy(): number {
    return this.busySlots;
  }

  /**
   * Runs the job and returns its result; throws a JobFailure when it is not run in time, fails, is
   * stopped by `signal` (aborted with a StopReason) or runs past MAX_SERVICE_MS.
   */
  async execute(job: ExecutableJob, signal?: AbortSignal): Promise<JobResult> {
    const { spec, models, latency, rng } = this.options;
    const payload = job.data;
    // A job that can no longer finish in time is skipped, never run.
    if (payload.deadlineMs !== undefined && (latestStartAt(models, payload, spec.class) ?? Infinity) < Date.now()) {
      throw JobFailure.deadlineExceeded(payload.deadlineMs, 'pickup');
    }
    const stop = this.stopper(job, signal);
    try {
      if (this.batches !== null) {
        const { serviceMs, batchSize } = await this.batches.run(job, payload.model, payload.size, stop.signal);
        this.stats.recordBatch(batchSize);
        return this.finish(job, serviceMs / batchSize);
      }
      this.markBusy(1);
      this.options.onRunning(job);
      try {
        const serviceMs = latency.sampleMs(payload.model, spec.class, rng, payload.size);
        // The simulated execution spans processedOn → finish, as a real one would; the time BullMQ
        // took to hand the job over since processedOn is part of it, not added on top.
        await sleep(Math.max(0, serviceMs - (Date.now() - (job.processedOn ?? Date.now()))), undefined, { signal: stop.signal });
        this.stats.recordBatch(1);
        return this.finish(job, serviceMs);
      } finally {
        this.markBusy(-1);
      }
    } catch (error) {
      if (!stop.signal.aborted) throw error;
      throw stop.signal.reason === 'timeout' ? JobFailure.timeout(this.options.limits.MAX_SERVICE_MS) : JobFailure.cancelled();
    } finally {
      stop.dispose();
    }
  }

  /** One signal for both ways an execution stops early: `signal` (a cancel) and MAX_SERVICE_MS from its start. */
  private stopper(job: ExecutableJob, signal: AbortSignal | undefined): { signal: AbortSignal; dispose(): void } {
    const controller = new AbortController();
    const { MAX_SERVICE_MS } = this.options.limits;
    const leftMs = MAX_SERVICE_MS - (Date.now() - (job.processedOn ?? Date.now()));
    const timer = setTimeout(() => controller.abort('timeout' satisfies StopReason), Math.max(0, leftMs));
    const forward = (): void => controller.abort(signal?.reason === 'timeout' ? 'timeout' : ('cancelled' satisfies StopReason));
    if (signal?.aborted === true) forward();
    else signal?.addEventListener('abort', forward, { once: true });
    return {
      signal: controller.signal,
      dispose: () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', forward);
      },
    };
  }

  /** Failure injection and the result, once the execution is over. */
  private finish(job: ExecutableJob, perJobServiceMs: number): JobResult {
    const { spec, rng, metrics } = this.options;
    const payload = job.data;
    if (spec.failureRate !== undefined && rng() < spec.failureRate) throw JobFailure.executionFailed(`simulated failure on ${spec.id}`);
    this.stats.record(payload.model, perJobServiceMs);
    // Billed by busy time, as on per-second cloud billing: a job costs its share of the execution.
    const price = spec.costPerHour ?? 0;
    if (price > 0) metrics.jobCost.inc(this.costLabels, busyCost(perJobServiceMs, price));
    const result = { model: payload.model, worker: spec.id, class: spec.class, output: simulateOutput(payload.model, payload.input) };
    // BullMQ keeps the return value in the job hash for RESULT_TTL_S: an oversized one fails the job instead.
    const bytes = Buffer.byteLength(JSON.stringify(result));
    if (bytes > this.options.limits.MAX_RESULT_BYTES) throw JobFailure.resultTooLarge(bytes, this.options.limits.MAX_RESULT_BYTES);
    return result;
  }

  private markBusy(delta: 1 | -1): void {
    this.busySlots += delta;
    this.options.metrics.busySlots.inc(this.slotLabels, delta);
  }
}
