import { Histogram, type LabelValues } from 'prom-client';
import { LabelSlots } from './label-slots.js';
import type { MetricConfig } from './metric-config.js';

interface PendingSlot<T extends string> {
  labels: LabelValues<T>;
  /** Observed since the last flush, in order. */
  values: number[];
}

/** Flushed at a scrape or, when nothing scrapes, once this many observations wait. */
const PENDING_LIMIT = 4096;

/**
 * A stock prom-client Histogram whose observations are queued in plain arrays and handed to its
 * `observe` in one batch: on scrape (its `collect`), or every PENDING_LIMIT observations. A batch
 * is a tight loop, where prom-client's update is a fraction of its cost when interleaved with a
 * live process's other work. Its count only moves one per `observe` and its sum is the running
 * sum of the observed values, so the values themselves are queued, not bucket counts: the
 * exposition is exactly the stock one. A flush takes every label set in first-seen order, so
 * label sets enter the stock metric in the order prom-client would show them.
 */
export class FastHistogram<T extends string = string> {
  private readonly slots: LabelSlots<T, PendingSlot<T>>;
  private readonly metric: Histogram<T>;
  private pending = 0;

  constructor(config: MetricConfig<T> & { buckets: readonly number[] }) {
    this.slots = new LabelSlots(config.labelNames ?? [], (labels) => ({ labels, values: [] }));
    // A copy: prom-client freezes the array it is given.
    this.metric = new Histogram<T>({ ...config, buckets: [...config.buckets], collect: () => this.flush() });
  }

  observe(labels: LabelValues<T>, value: number): void;
  observe(value: number): void;
  observe(labels: LabelValues<T> | number, value?: number): void {
    const v = typeof labels === 'object' ? value : labels;
    // prom-client's check and message, at the call rather than at the flush.
    if (v === undefined || !Number.isFinite(v)) throw new TypeError(`Value is not a valid number: ${v}`);
    this.slots.get(labels).values.push(v);
    if (++this.pending >= PENDING_LIMIT) this.flush();
  }

  reset(): void {
    this.slots.clear();
    this.pending = 0;
    this.metric.reset();
  }

  private flush(): void {
    for (const slot of this.slots.values()) {
      for (const v of slot.values) this.metric.observe(slot.labels, v);
      slot.values.length = 0;
    }
    this.pending = 0;
  }
}
