import type { Registry } from 'prom-client';

/** What the fast metrics take of prom-client's configuration. */
export interface MetricConfig<T extends string> {
  name: string;
  help: string;
  labelNames?: readonly T[];
  registers?: Registry[];
}
