import { Counter, Gauge, Histogram, Registry, type LabelValues } from 'prom-client';
import { expect } from 'vitest';
import { FastCounter } from '../src/fast-counter.js';
import { FastGauge } from '../src/fast-gauge.js';
import { FastHistogram } from '../src/fast-histogram.js';

/** prom-client's metrics and the fast ones, built side by side in two registries, for comparing their expositions. */

const BUCKETS = [0.001, 0.01, 0.1, 1, 10];
export const labelNames = ['model', 'class', 'outcome'] as const;
export type L = (typeof labelNames)[number];

/** What both sides have in common: prom-client's metrics and the fast ones. */
export interface Side {
  registry: Registry;
  counter: { inc(labels: LabelValues<L>, value?: number): void; reset(): void };
  gauge: { inc(labels: LabelValues<L>, value?: number): void; dec(labels: LabelValues<L>, value?: number): void; set(labels: LabelValues<L>, value: number): void; reset(): void };
  histogram: { observe(labels: LabelValues<L>, value: number): void; reset(): void };
  bare: { observe(value: number): void };
  bareCounter: { inc(): void };
}

export function build(kind: 'prom' | 'fast'): Side {
  const registry = new Registry();
  registry.setDefaultLabels({ app: 'test' });
  const registers = [registry];
  const prom = kind === 'prom';
  const c = { name: 'c_total', help: 'c', labelNames, registers };
  const g = { name: 'g', help: 'g', labelNames, registers };
  const h = { name: 'h_seconds', help: 'h', labelNames, buckets: BUCKETS, registers };
  const bare = { name: 'bare_seconds', help: 'no labels', buckets: BUCKETS, registers };
  const bareCounter = { name: 'bare_total', help: 'no labels', registers };
  return {
    registry,
    counter: prom ? new Counter<L>(c) : new FastCounter<L>(c),
    gauge: prom ? new Gauge<L>(g) : new FastGauge<L>(g),
    histogram: prom ? new Histogram<L>(h) : new FastHistogram<L>(h),
    bare: prom ? new Histogram<never>(bare) : new FastHistogram<never>(bare),
    bareCounter: prom ? new Counter<never>(bareCounter) : new FastCounter<never>(bareCounter),
  };
}

/** The text and the JSON exposition of both sides are the same. */
export async function expectSame(sides: Side[]): Promise<void> {
  const [prom, fast] = await Promise.all(sides.map((s) => s.registry.metrics()));
  expect(fast).toBe(prom);
  const [promJson, fastJson] = await Promise.all(sides.map((s) => s.registry.getMetricsAsJSON()));
  // Through JSON, as a consumer sees it (prom-client's dec by 0 leaves −0 on a new label set, ours 0).
  expect(JSON.parse(JSON.stringify(fastJson))).toEqual(JSON.parse(JSON.stringify(promJson)));
}

