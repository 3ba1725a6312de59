import type { Rng } from '@sched/core';

/** When jobs of an open workload arrive: each `next()` is the next arrival, in ms from the start. */
export interface ArrivalProcess {
  next(): number;
}

/** An exponential draw with mean `meanMs` (1 − u is in (0, 1], so the log is finite). */
export function exponentialMs(meanMs: number, rng: Rng): number {
  return -meanMs * Math.log(1 - rng());
}

function meanGapMs(ratePerS: number): number {
  if (!(ratePerS > 0) || !Number.isFinite(ratePerS)) throw new RangeError(`arrival rate must be a positive number of jobs/s, got ${ratePerS}`);
  return 1000 / ratePerS;
}

/** Poisson arrivals at `ratePerS`: exponential gaps drawn from `rng`, so a seed gives the same times every time. */
export class PoissonArrivals implements ArrivalProcess {
  private readonly meanGapMs: number;
  private at = 0;

  constructor(
    ratePerS: number,
    private readonly rng: Rng,
  ) {
    this.meanGapMs = meanGapMs(ratePerS);
  }

  next(): number {
    this.at += exponentialMs(this.meanGapMs, this.rng);
    return this.at;
  }
}

export interface OnOffArrivalsOptions {
  /** Long-run mean arrival rate, jobs/s. */
  readonly ratePerS: number;
  /** Mean length of an on period, ms. */
  readonly onMs: number;
  /** Mean length of an off period, ms. */
  readonly offMs: number;
}

/**
 * Bursty arrivals (a two-state Markov-modulated Poisson process): exponential on and off periods
 * with the given means, nothing arrives while off, and the on-rate is raised so the long-run mean
 * stays `ratePerS`.
 */
export class OnOffArrivals implements ArrivalProcess {
  private readonly meanGapOnMs: number;
  private at = 0;
  private onUntil: number;

  constructor(
    private readonly options: OnOffArrivalsOptions,
    private readonly rng: Rng,
  ) {
    const { onMs, offMs } = options;
    if (!(onMs > 0) || !(offMs > 0)) throw new RangeError(`on and off periods must be positive, got ${onMs} and ${offMs} ms`);
    this.meanGapOnMs = meanGapMs(options.ratePerS * ((onMs + offMs) / onMs));
    this.onUntil = exponentialMs(onMs, rng);
  }

  next(): number {
    this.at += exponentialMs(this.meanGapOnMs, this.rng);
    // Memorylessness: time left over at the end of an on period carries into the next one.
    while (this.at > this.onUntil) {
      const offFor = exponentialMs(this.options.offMs, this.rng);
      this.at += offFor;
      this.onUntil += offFor + exponentialMs(this.options.onMs, this.rng);
    }
    return this.at;
  }
}
