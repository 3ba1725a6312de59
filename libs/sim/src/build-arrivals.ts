import type { Catalog } from '@sched/core';
import type { LatencyModel, ModelMix, TraceArrival } from '@sched/exec';
import type { ArrivalSpec } from './arrivals.js';
import { fleetCapacityPerS, type WorkSample } from './fleet-capacity.js';
import { defaultModelMix } from './model-mix.js';

export interface ArrivalRequest {
  /** Fraction of fleet capacity; ignored when `ratePerS` (or a trace `speed`) is given. */
  readonly load: number;
  readonly ratePerS?: number | undefined;
  readonly jobs: number;
  /** @defaultValue the fleet's model `default`, else its first model */
  readonly mix?: ModelMix | undefined;
  readonly bursty?: { readonly onMs: number; readonly offMs: number } | undefined;
  readonly trace?: readonly TraceArrival[] | undefined;
  readonly speed?: number | undefined;
}

export interface BuiltArrivals {
  readonly spec: ArrivalSpec;
  /** Offered load as a fraction of the fleet's unbatched capacity. */
  readonly offeredLoad: number;
  readonly capacityPerS: number;
  /** The trace speed used (a trace only). */
  readonly speed?: number;
}

/** Turns a load factor (or rate, or trace speed) into arrivals for `fleet`. */
export function buildArrivals(fleet: Catalog, latency: LatencyModel, request: ArrivalRequest): BuiltArrivals {
  const { trace } = request;
  if (trace !== undefined) {
    const sample: WorkSample[] = trace.map((row) => ({ model: row.model, weight: 1, size: row.size }));
    const capacityPerS = fleetCapacityPerS(fleet, latency, sample);
    const spanMs = trace.length < 2 ? 1 : (trace[trace.length - 1] as TraceArrival).t - (trace[0] as TraceArrival).t;
    const traceRatePerS = (trace.length / Math.max(spanMs, 1)) * 1000;
    const speed = request.speed ?? (request.load * capacityPerS) / traceRatePerS;
    return { spec: { kind: 'trace', arrivals: trace, speed }, offeredLoad: (traceRatePerS * speed) / capacityPerS, capacityPerS, speed };
  }
  const mix = request.mix ?? defaultModelMix(fleet);
  const sample = mix.map(({ model, share }) => ({ model, weight: share }));
  const capacityPerS = fleetCapacityPerS(fleet, latency, sample);
  const ratePerS = request.ratePerS ?? request.load * capacityPerS;
  const offeredLoad = ratePerS / capacityPerS;
  const spec: ArrivalSpec =
    request.bursty === undefined
      ? { kind: 'poisson', ratePerS, jobs: request.jobs, mix }
      : { kind: 'bursty', ratePerS, jobs: request.jobs, mix, ...request.bursty };
  return { spec, offeredLoad, capacityPerS };
}
