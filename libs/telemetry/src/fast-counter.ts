import { Counter, type LabelValues } from 'prom-client';
import type { MetricConfig } from './metric-config.js';
import { ValueTable, incrementOf } from './value-table.js';

/** A stock prom-client Counter, updated in plain numbers and written into it on scrape (`collect`). */
export class FastCounter<T extends string = string> {
  private readonly values: ValueTable<T>;

  constructor(config: MetricConfig<T>) {
    const values = (this.values = new ValueTable(config.labelNames ?? []));
    // Registered in config.registers, which reads it on scrape; nothing else writes to it.
    new Counter<T>({
      ...config,
      collect() {
        values.writeTo(this, (labels, value) => this.inc(labels, value));
      },
    });
  }

  inc(labels?: LabelValues<T> | number, value?: number): void {
    const delta = incrementOf(labels, value);
    if (!Number.isFinite(delta)) throw new TypeError(`Value is not a valid number: ${delta}`);
    if (delta < 0) throw new Error(`It is not possible to decrease a counter (${delta})`);
    this.values.add(labels, delta);
  }

  reset(): void {
    this.values.clear();
  }
}
