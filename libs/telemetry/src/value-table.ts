import type { LabelValues } from 'prom-client';
import { LabelSlots } from './label-slots.js';

interface ValueSlot<T extends string> {
  labels: LabelValues<T>;
  value: number;
}

/**
 * The values of a counter or a gauge by label set, in plain numbers. On each scrape the stock
 * prom-client metric's `collect` has them written into it: `reset()`, then one write per label
 * set, in the order they were first seen, so it shows exactly what it would have accumulated.
 */
/** The amount of prom-client's `inc(labels?, value?)` / `inc(value?)` call forms: the number given, else 1. */
export function incrementOf(labels: object | number | undefined, value: number | undefined): number {
  return (typeof labels === 'object' ? value : labels) ?? 1;
}

export class ValueTable<T extends string> {
  private readonly slots: LabelSlots<T, ValueSlot<T>>;

  constructor(private readonly labelNames: readonly T[]) {
    this.slots = new LabelSlots(labelNames, (labels) => ({ labels, value: 0 }));
    this.clear();
  }

  add(labels: LabelValues<T> | number | undefined, delta: number): void {
    this.slots.get(labels).value += delta;
  }

  set(labels: LabelValues<T> | number | undefined, value: number): void {
    this.slots.get(labels, true).value = value;
  }

  clear(): void {
    this.slots.clear();
    // A metric without labels shows 0 before anything happens, as prom-client's do.
    if (this.labelNames.length === 0) this.slots.get(undefined);
  }

  /** For the stock metric's `collect`: what it holds becomes these values. */
  writeTo<M extends { reset(): void }>(metric: M, write: (labels: LabelValues<T>, value: number) => void): void {
    metric.reset();
    for (const slot of this.slots.values()) write(slot.labels, slot.value);
  }
}
