import { inspect } from 'node:util';
import type { LabelValues } from 'prom-client';

/**
 * A metric's label sets, each with a slot of plain numbers or arrays, found with one string key (the values
 * in declared label order) in a Map. prom-client instead validates the label names and hashes the
 * sorted label set on every update, which costs 10–20× more in a live process (BENCHMARKS.md).
 * Label names are checked once, when a label set is first seen. A slot keeps a copy of the
 * caller's label set in the caller's key order, which prom-client shows in the exposition.
 */
export class LabelSlots<T extends string, S extends { labels: LabelValues<T> }> {
  private readonly slots = new Map<string, S>();
  private readonly declared: ReadonlySet<string>;

  constructor(
    private readonly labelNames: readonly T[],
    private readonly make: (labels: LabelValues<T>) => S,
  ) {
    this.declared = new Set(labelNames);
  }

  /**
   * The slot of a label set; a number or nothing (the `(value)` call form) is the empty label set.
   * `latest` makes this call's label set the one shown (a gauge's `set`, as prom-client's).
   */
  get(labels: LabelValues<T> | number | undefined, latest = false): S {
    const set = typeof labels === 'object' ? labels : undefined;
    let key = '';
    for (const name of this.labelNames) {
      const value = set?.[name];
      key += value === undefined ? '\u0002' : `${value}\u0001`;
    }
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = this.make(this.copy(set));
      this.slots.set(key, slot);
    } else if (latest && set !== undefined) {
      slot.labels = this.copy(set);
    }
    return slot;
  }

  /** In the order the label sets were first seen since the last `clear`, as prom-client's. */
  values(): IterableIterator<S> {
    return this.slots.values();
  }

  clear(): void {
    this.slots.clear();
  }

  private copy(labels: LabelValues<T> | undefined): LabelValues<T> {
    const copy: LabelValues<T> = {};
    for (const [name, value] of Object.entries<string | number | undefined>(labels ?? {})) {
      // prom-client's message; refused here, at the call, rather than when the slot is flushed.
      if (!this.isDeclared(name)) throw new Error(`Added label "${name}" is not included in initial labelset: ${inspect(this.labelNames)}`);
      if (value !== undefined) copy[name] = value;
    }
    return copy;
  }

  private isDeclared(name: string): name is T {
    return this.declared.has(name);
  }
}
