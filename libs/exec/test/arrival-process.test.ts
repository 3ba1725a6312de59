import { seededRng } from '@sched/core';
import { describe, expect, it } from 'vitest';
import { OnOffArrivals, PoissonArrivals, type ArrivalProcess } from '../src/index.js';

/** The first `count` arrival times of a process. */
function times(process: ArrivalProcess, count: number): number[] {
  return Array.from({ length: count }, () => process.next());
}

function gapsOf(at: readonly number[]): number[] {
  return at.map((t, i) => t - (at[i - 1] ?? 0));
}

function meanAndCv(values: readonly number[]): { mean: number; cv: number } {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
  return { mean, cv: sd / mean };
}

describe('PoissonArrivals', () => {
  it('arrives at the requested mean rate within 3 %', () => {
    const at = times(new PoissonArrivals(200, seededRng(42)), 20_000);
    // 20,000 arrivals at 200/s span 100 s; the relative σ of their sum is 1/√20000 ≈ 0.7 %.
    const ratePerS = (at.length / (at.at(-1) ?? 1)) * 1000;
    expect(ratePerS).toBeGreaterThan(200 * 0.97);
    expect(ratePerS).toBeLessThan(200 * 1.03);
  });

  it('has exponential gaps: mean 1/rate and a coefficient of variation near 1', () => {
    const { mean, cv } = meanAndCv(gapsOf(times(new PoissonArrivals(50, seededRng(7)), 20_000)));
    expect(mean).toBeGreaterThan(20 * 0.97);
    expect(mean).toBeLessThan(20 * 1.03);
    expect(cv).toBeGreaterThan(0.95);
    expect(cv).toBeLessThan(1.05);
  });

  it('gives strictly later times after a start above zero', () => {
    const at = times(new PoissonArrivals(1000, seededRng(1)), 5000);
    expect(at[0]).toBeGreaterThan(0);
    for (let i = 1; i < at.length; i++) expect(at[i]).toBeGreaterThan(at[i - 1] ?? 0);
  });

  it('gives the same times for the same seed and others for another seed', () => {
    const a = times(new PoissonArrivals(100, seededRng(3)), 500);
    expect(times(new PoissonArrivals(100, seededRng(3)), 500)).toEqual(a);
    expect(times(new PoissonArrivals(100, seededRng(4)), 500)).not.toEqual(a);
  });

  it('refuses a rate that is not a positive number', () => {
    expect(() => new PoissonArrivals(0, seededRng(1))).toThrow('arrival rate must be a positive number of jobs/s, got 0');
    expect(() => new PoissonArrivals(Number.NaN, seededRng(1))).toThrow(RangeError);
  });
});

describe('OnOffArrivals', () => {
  it('keeps the long-run mean rate of a Poisson process', () => {
    // The rate varies with the on periods drawn: 400,000 arrivals span ~4,000 on/off cycles (σ ≈ 1.6 %).
    const at = times(new OnOffArrivals({ ratePerS: 100, onMs: 200, offMs: 800 }, seededRng(5)), 400_000);
    const ratePerS = (at.length / (at.at(-1) ?? 1)) * 1000;
    expect(ratePerS).toBeGreaterThan(100 * 0.95);
    expect(ratePerS).toBeLessThan(100 * 1.05);
  });

  it('is burstier than Poisson: gaps vary far more than exponential ones', () => {
    const { cv } = meanAndCv(gapsOf(times(new OnOffArrivals({ ratePerS: 100, onMs: 200, offMs: 800 }, seededRng(5)), 50_000)));
    expect(cv).toBeGreaterThan(1.5);
  });

  it('gives the same times for the same seed', () => {
    const make = () => new OnOffArrivals({ ratePerS: 50, onMs: 100, offMs: 100 }, seededRng(8));
    expect(times(make(), 500)).toEqual(times(make(), 500));
  });

  it('refuses periods that are not positive', () => {
    expect(() => new OnOffArrivals({ ratePerS: 50, onMs: 0, offMs: 100 }, seededRng(1))).toThrow('on and off periods must be positive');
  });
});
