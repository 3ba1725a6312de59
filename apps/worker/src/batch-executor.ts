import { setTimeout as sleep } from 'node:timers/promises';
import type { JobSize, Rng } from '@sched/core';
import { Batcher, type LatencyModel } from '@sched/exec';

/** One execution of a batch: how many of its jobs are still wanted, and how to stop it when none is. */
interface Execution {
  live: number;
  readonly stop: AbortController;
}

interface Pending<T> {
  readonly item: T;
  readonly size: JobSize | undefined;
  resolve(batch: { serviceMs: number; batchSize: number }): void;
  reject(reason: Error): void;
  /** Its signal aborted: answered already, left out of (or dropped from) its batch. */
  dropped: boolean;
  /** The execution it is part of, once its batch started. */
  execution: Execution | null;
}

export interface BatchExecutorOptions<T> {
  cls: string;
  slots: number;
  maxBatch: number;
  maxQueueDelayMs: number;
  latency: LatencyModel;
  rng: Rng;
  /** Called when a batch starts executing, with its items. */
  onStart(items: readonly T[]): void;
  /** Called when a batch's execution ends, before its jobs resolve. */
  onFinish(): void;
}

/**
 * Dynamic batching on a live worker: jobs BullMQ hands over wait in a shared
 * `Batcher` (libs/exec, the simulator's too) and run as one execution when a
 * slot is free and a batch is full or its oldest job waited `maxQueueDelayMs`.
 * A batch of b takes base × (1 + α·(b − 1)), its base drawn for the largest job.
 *
 * A job whose signal aborts (cancelled, or past MAX_SERVICE_MS) is answered at once with the
 * signal's reason: still gathering, it is left out when its batch forms; in a running batch it is
 * dropped from the batch's results while the others run on, so the slot stays busy for them until
 * the execution ends, unless it was the last job still wanted: then the execution stops and the
 * slot is free at once.
 */
export class BatchExecutor<T> {
  private readonly batcher: Batcher<Pending<T>>;
  private free: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: BatchExecutorOptions<T>) {
    this.batcher = new Batcher({ maxBatch: options.maxBatch, maxQueueDelayMs: options.maxQueueDelayMs });
    this.free = options.slots;
  }

  /** Resolves when the job's batch has finished executing; rejects (its cause `signal.reason`) once the signal aborts. */
  run(item: T, model: string, size: JobSize | undefined, signal?: AbortSignal): Promise<{ serviceMs: number; batchSize: number }> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(abortError(signal));
        return;
      }
      const pending: Pending<T> = { item, size, resolve, reject, dropped: false, execution: null };
      if (signal !== undefined) {
        const drop = (): void => this.drop(pending, abortError(signal));
        signal.addEventListener('abort', drop, { once: true });
        const settled = (): void => signal.removeEventListener('abort', drop);
        pending.resolve = (batch) => {
          settled();
          resolve(batch);
        };
      }
      this.batcher.add(pending, model, Date.now());
      this.pump();
    });
  }

  private drop(pending: Pending<T>, reason: Error): void {
    if (pending.dropped) return;
    pending.dropped = true;
    pending.reject(reason);
    const execution = pending.execution;
    if (execution !== null && --execution.live === 0) execution.stop.abort();
  }

  private pump(): void {
    while (this.free > 0) {
      const batch = this.batcher.poll(Date.now());
      if (batch === null) break;
      // Jobs dropped while they gathered take no place in the execution.
      const items = batch.items.filter((pending) => !pending.dropped);
      if (items.length === 0) continue;
      this.free--;
      void this.execute(batch.model, items);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const wakeAt = this.free > 0 ? this.batcher.nextWakeAt() : null;
    if (wakeAt !== null) this.timer = setTimeout(() => this.pump(), Math.max(0, wakeAt - Date.now()));
  }

  private async execute(model: string, items: readonly Pending<T>[]): Promise<void> {
    const { latency, cls, rng } = this.options;
    const execution: Execution = { live: items.length, stop: new AbortController() };
    for (const pending of items) pending.execution = execution;
    this.options.onStart(items.map((p) => p.item));
    const serviceMs = latency.sampleBatchMs(model, cls, items.length, rng, largest(items));
    // Aborted when every job of the batch was dropped: nothing is left to wait for.
    await sleep(serviceMs, undefined, { signal: execution.stop.signal }).catch(() => undefined);
    this.options.onFinish();
    this.free++;
    for (const pending of items) if (!pending.dropped) pending.resolve({ serviceMs, batchSize: items.length });
    this.pump();
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted', { cause: signal.reason });
}

/** Sequences in a batch are padded to the longest, so the batch costs what its largest job costs. */
function largest(items: readonly { size: JobSize | undefined }[]): JobSize | undefined {
  let out: JobSize | undefined;
  for (const { size } of items) {
    if (size === undefined) continue;
    out = {
      inputTokens: Math.max(out?.inputTokens ?? 0, size.inputTokens),
      outputTokens: Math.max(out?.outputTokens ?? 0, size.outputTokens),
    };
  }
  return out;
}
