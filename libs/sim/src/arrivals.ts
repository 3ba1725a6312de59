import type { JobSize, Rng } from '@sched/core';
import type { TraceArrival } from '@sched/exec';
import { sampleModelIndex, type ModelMix } from './model-mix.js';

/** How jobs arrive in a run. */
export type ArrivalSpec =
  | { readonly kind: 'poisson'; readonly ratePerS: number; readonly jobs: number; readonly mix: ModelMix }
  /**
   * On/off (a two-state modulated Poisson process): exponential on and off
   * periods with these means; no arrivals while off, and the on-rate is raised
   * so the long-run mean stays `ratePerS`.
   */
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

function exponentialMs(meanMs: number, rng: Rng): number {
  return -meanMs * Math.log(1 - rng());
}

/** A stream that fills `out` with the next arrival and returns false once `jobCount(spec)` have arrived. */
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
  const { mix, jobs } = spec;
  let now = 0;
  if (spec.kind === 'poisson') {
    const meanGapMs = 1000 / spec.ratePerS;
    return (out) => {
      if (emitted >= jobs) return false;
      emitted++;
      now += exponentialMs(meanGapMs, rng);
      out.t = now;
      out.model = mix.models[sampleModelIndex(mix, rng)] as string;
      out.size = undefined;
      return true;
    };
  }
  const meanGapOnMs = 1000 / (spec.ratePerS * ((spec.onMs + spec.offMs) / spec.onMs));
  let onUntil = exponentialMs(spec.onMs, rng);
  return (out) => {
    if (emitted >= jobs) return false;
    emitted++;
    now += exponentialMs(meanGapOnMs, rng);
    // Memorylessness: time left over at the end of an on period carries into the next one.
    while (now > onUntil) {
      const offFor = exponentialMs(spec.offMs, rng);
      now += offFor;
      onUntil += offFor + exponentialMs(spec.onMs, rng);
    }
    out.t = now;
    out.model = mix.models[sampleModelIndex(mix, rng)] as string;
    out.size = undefined;
    return true;
  };
}
