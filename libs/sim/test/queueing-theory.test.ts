import { EXPONENTIAL_P99_OVER_P50, parseCatalog, type Catalog } from '@sched/core';
import { describe, expect, it } from 'vitest';
import type { PolicyOptions } from '@sched/policies';
import { createModelMix, simulate, type SimPolicyName } from '../src/index.js';

const MEAN_MS = 10;
const P50_MS = MEAN_MS * Math.LN2;
const JOBS = 1_000_000;

function exponentialFleet(workers: number, slots: number): Catalog {
  return parseCatalog({
    models: { m: { cpu: { p50Ms: P50_MS, p99Ms: P50_MS * EXPONENTIAL_P99_OVER_P50, distribution: 'exponential' } } },
    workers: Array.from({ length: workers }, (_, i) => ({ id: `w${i}`, class: 'cpu', slots })),
  });
}

/** Erlang C: probability that an arrival waits in an M/M/c queue with offered load a = λ/μ. */
function erlangC(c: number, a: number): number {
  let term = 1;
  let sum = 1;
  for (let k = 1; k < c; k++) {
    term *= a / k;
    sum += term;
  }
  const last = (term * a) / c / (1 - a / c);
  return last / (sum + last);
}

/** Mean waiting time in queue of M/M/c, in ms. */
function mmcWaitMs(c: number, rho: number): number {
  const mu = 1 / MEAN_MS;
  const lambda = rho * c * mu;
  return erlangC(c, lambda / mu) / (c * mu - lambda);
}

function meanWait(fleet: Catalog, policy: SimPolicyName, rho: number, servers: number, seed: number, policyOptions: PolicyOptions = {}): number {
  return simulate({
    fleet,
    policy,
    seed,
    policyOptions,
    arrivals: { kind: 'poisson', ratePerS: (rho * servers * 1000) / MEAN_MS, jobs: JOBS, mix: createModelMix({ m: 1 }) },
  }).meanWaitMs;
}

describe('simulator against closed-form queueing results', () => {
  it('M/M/1 at 70 % load: mean wait within 5 % of ρ/(μ − λ)', () => {
    const expected = mmcWaitMs(1, 0.7);
    expect(expected).toBeCloseTo((0.7 * MEAN_MS) / 0.3, 6);
    expect(Math.abs(meanWait(exponentialFleet(1, 1), 'jsq', 0.7, 1, 1) / expected - 1)).toBeLessThan(0.05);
  });

  it('M/M/4 at 80 % load (one worker, 4 slots): mean wait within 5 % of Erlang C', () => {
    const expected = mmcWaitMs(4, 0.8);
    expect(Math.abs(meanWait(exponentialFleet(1, 4), 'sed', 0.8, 4, 2) / expected - 1)).toBeLessThan(0.05);
  });

  it('M/M/4 as four 1-slot workers pulling from the shared queue: mean wait within 5 % of Erlang C', () => {
    const expected = mmcWaitMs(4, 0.8);
    expect(Math.abs(meanWait(exponentialFleet(4, 1), 'shared-queue', 0.8, 4, 3) / expected - 1)).toBeLessThan(0.05);
  });
});

describe('late binding (sed-late) against closed-form queueing results', () => {
  it('M/M/4 as four 1-slot workers: holding jobs and binding them to the first free worker (no prefetch) is the shared FCFS queue, within 5 % of Erlang C', () => {
    const expected = mmcWaitMs(4, 0.8);
    expect(Math.abs(meanWait(exponentialFleet(4, 1), 'sed-late', 0.8, 4, 4, { prefetch: 0 }) / expected - 1)).toBeLessThan(0.05);
  });
});
