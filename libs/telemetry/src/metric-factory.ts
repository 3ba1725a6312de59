import type { Registry } from 'prom-client';
import { FastCounter } from './fast-counter.js';
import { FastGauge } from './fast-gauge.js';
import { FastHistogram } from './fast-histogram.js';
import type { MetricConfig } from './metric-config.js';

/**
 * With METRICS_ENABLED=false every metric is this: any property is itself, any call does
 * nothing. It exists to measure what the metrics cost (BENCHMARKS.md), not for production.
 */
const NOOP_METRIC: unknown = new Proxy(() => undefined, { get: () => NOOP_METRIC, apply: () => undefined });

type Config<T extends string> = Omit<MetricConfig<T>, 'registers'>;

/** Makes metrics registered in `registry`, or, when not `enabled`, no-ops in their place. */
export function metricFactory(registry: Registry, enabled: boolean) {
  const registers = [registry];
  const make = <M>(create: () => M): M => (enabled ? create() : (NOOP_METRIC as M));
  return {
    counter: <T extends string = string>(config: Config<T>) => make(() => new FastCounter<T>({ ...config, registers })),
    gauge: <T extends string = string>(config: Config<T>) => make(() => new FastGauge<T>({ ...config, registers })),
    histogram: <T extends string = string>(config: Config<T> & { buckets: readonly number[] }) => make(() => new FastHistogram<T>({ ...config, registers })),
  };
}
