import type { Rng } from '@sched/core';
import { PoissonArrivals } from '@sched/exec';

/**
 * When each job is due, as offsets from the start of the run, and what the runner
 * does when it falls behind them (all `max-outstanding` slots busy, or a slow loop).
 */
export interface ArrivalSchedule {
  readonly offsetsMs: readonly number[];
  /**
   * `shift`: keep the gaps, pushing every later job back (a client that sleeps
   * between sends, like the prototype's). `catch-up`: send late jobs at once, so the
   * offered rate holds (an open system).
   */
  readonly onLag: 'shift' | 'catch-up';
}

/** `count` jobs `spacingMs` apart: the prototype client's burst. */
export function burstSchedule(count: number, spacingMs: number): ArrivalSchedule {
  const offsetsMs = Array.from({ length: count }, (_, i) => i * spacingMs);
  return Object.freeze({ offsetsMs: Object.freeze(offsetsMs), onLag: 'shift' });
}

/**
 * Poisson arrivals at `ratePerS` for `durationS` (the workload module's, the simulator's too),
 * so a seed gives the same schedule every time.
 */
export function poissonSchedule(ratePerS: number, durationS: number, rng: Rng): ArrivalSchedule {
  const endMs = durationS * 1000;
  const arrivals = new PoissonArrivals(ratePerS, rng);
  const offsetsMs: number[] = [];
  for (let at = arrivals.next(); at < endMs; at = arrivals.next()) offsetsMs.push(at);
  return Object.freeze({ offsetsMs: Object.freeze(offsetsMs), onLag: 'catch-up' });
}

/** A recorded trace's arrival times (ms from its first arrival), compressed by `speed`. */
export function traceSchedule(arrivalsMs: readonly number[], speed: number): ArrivalSchedule {
  const first = arrivalsMs[0] ?? 0;
  return Object.freeze({ offsetsMs: Object.freeze(arrivalsMs.map((t) => (t - first) / speed)), onLag: 'catch-up' });
}
