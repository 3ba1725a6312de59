import { Gauge, type LabelValues } from 'prom-client';
import type { MetricConfig } from './metric-config.js';
import { ValueTable, incrementOf } from './value-table.js';

/** A stock prom-client Gauge, updated in plain numbers and written into it on scrape (`collect`). */
export class FastGauge<T extends string = string> {
  private readonly values: ValueTable<T>;

  constructor(config: MetricConfig<T>) {
    const values = (this.values = new ValueTable(config.labelNames ?? []));
    // Registered in config.registers, which reads it on scrape; nothing else writes to it.
    new Gauge<T>({
      ...config,
      collect() {
        values.writeTo(this, (labels, value) => this.set(labels, value));
      },
    });
  }

  inc(labels?: LabelValues<T> | number, value?: number): void {
    this.values.add(labels, incrementOf(labels, value));
  }

  dec(labels?: LabelValues<T> | number, value?: number): void {
    this.values.add(labels, -incrementOf(labels, value));
  }

  set(labels: LabelValues<T>, value: number): void;
  set(value: number): void;
  set(labels: LabelValues<T> | number, value?: number): void {
    const v = typeof labels === 'object' ? value : labels;
    if (typeof v !== 'number') throw new TypeError(`Value is not a valid number: ${v}`);
    this.values.set(labels, v);
  }

  reset(): void {
    this.values.clear();
  }
}
