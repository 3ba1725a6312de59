import type { JobSize, Rng } from '@sched/core';
import { modelPicker, OnOffArrivals, PoissonArrivals, type ArrivalProcess, type ModelMix, type TraceArrival } from '@sched/exec';

/** How jobs arrive in a run. */
export type ArrivalSpec =
  | { readonly kind: 'poisson'; readonly ratePerS: number; readonly jobs: number; readonly mix: ModelMix }
  /** On/off arrivals (`OnOffArrivals`): mean on and off periods in ms, the same long-run mean rate. */
  | {
      readonly kind: 'bursty';
      readonly ratePerS: number;
      readonly jobs: number;
      readonly mix: ModelMix;
      readonly onMs: number;
      readonly offMs: number;
    }
  | { readonly kind: 'trace'; readonly arrivals: readonly TraceArrival[]; readonly speed: number };

export function jobCount(spec: ArrivalSpec): number {
  return spec.kind === 'trace' ? spec.arrivals.length : spec.jobs;
}

/** The next arrival, written into a reused object (one per run, not per job). */
export interface NextArrival {
  t: number;
  model: string;
  size: JobSize | undefined;
}

export type ArrivalStream = (out: NextArrival) => boolean;

/**
 * A stream that fills `out` with the next arrival and returns false once `jobCount(spec)` have
 * arrived. Times and models come from the workload module the load client uses too, drawn from
 * one `rng` in arrival order (the time, then the model).
 */
export function arrivalStream(spec: ArrivalSpec, rng: Rng): ArrivalStream {
  let emitted = 0;
  if (spec.kind === 'trace') {
    return (out) => {
      const row = spec.arrivals[emitted];
      if (row === undefined) return false;
      emitted++;
      out.t = row.t / spec.speed;
      out.model = row.model;
      out.size = row.size;
      return true;
    };
  }
  const times: ArrivalProcess = spec.kind === 'poisson' ? new PoissonArrivals(spec.ratePerS, rng) : new OnOffArrivals(spec, rng);
  const pickModel = modelPicker(spec.mix, rng);
  const { jobs } = spec;
  return (out) => {
    if (emitted >= jobs) return false;
    emitted++;
    out.t = times.next();
    out.model = pickModel();
    out.size = undefined;
    return true;
  };
}
