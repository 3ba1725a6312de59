import { setTimeout as sleep } from 'node:timers/promises';
import type { JobSize, Rng } from '@sched/core';
import { Batcher, type LatencyModel } from '@sched/exec';

interface Pending<T> {
  readonly item: T;
  readonly size: JobSize | undefined;
  resolve(batch: { serviceMs: number; batchSize: number }): void;
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
 */
export class BatchExecutor<T> {
  private readonly batcher: Batcher<Pending<T>>;
  private free: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: BatchExecutorOptions<T>) {
    this.batcher = new Batcher({ maxBatch: options.maxBatch, maxQueueDelayMs: options.maxQueueDelayMs });
    this.free = options.slots;
  }

  /** Resolves when the job's batch has finished executing. */
  run(item: T, model: string, size: JobSize | undefined): Promise<{ serviceMs: number; batchSize: number }> {
    return new Promise((resolve) => {
      this.batcher.add({ item, size, resolve }, model, Date.now());
      this.pump();
    });
  }

  private pump(): void {
    while (this.free > 0) {
      const batch = this.batcher.poll(Date.now());
      if (batch === null) break;
      this.free--;
      void this.execute(batch.model, batch.items);
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
    this.options.onStart(items.map((p) => p.item));
    const serviceMs = latency.sampleBatchMs(model, cls, items.length, rng, largest(items));
    await sleep(serviceMs);
    this.options.onFinish();
    this.free++;
    for (const pending of items) pending.resolve({ serviceMs, batchSize: items.length });
    this.pump();
  }
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
