import type { Catalog } from '@sched/core';
import type { LatencyModel, TraceArrival } from '@sched/exec';
import type { ArrivalSpec } from './arrivals.js';
import { fleetCapacityPerS, type WorkSample } from './fleet-capacity.js';
import { createModelMix, parseModelMix, type ModelMix } from './model-mix.js';

export interface ArrivalRequest {
  /** Fraction of fleet capacity; ignored when `ratePerS` (or a trace `speed`) is given. */
  readonly load: number;
  readonly ratePerS?: number | undefined;
  readonly jobs: number;
  readonly mix?: string | undefined;
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

function defaultMix(fleet: Catalog): ModelMix {
  const models = Object.keys(fleet.models);
  return createModelMix({ [models.includes('default') ? 'default' : (models[0] as string)]: 1 });
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
  const mix = request.mix === undefined ? defaultMix(fleet) : parseModelMix(request.mix);
  const sample = mix.models.map((model, i) => ({ model, weight: (mix.cumulative[i] as number) - (mix.cumulative[i - 1] ?? 0) }));
  const capacityPerS = fleetCapacityPerS(fleet, latency, sample);
  const ratePerS = request.ratePerS ?? request.load * capacityPerS;
  const offeredLoad = ratePerS / capacityPerS;
  const spec: ArrivalSpec =
    request.bursty === undefined
      ? { kind: 'poisson', ratePerS, jobs: request.jobs, mix }
      : { kind: 'bursty', ratePerS, jobs: request.jobs, mix, ...request.bursty };
  return { spec, offeredLoad, capacityPerS };
}
