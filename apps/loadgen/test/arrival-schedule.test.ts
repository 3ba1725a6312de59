import { seededRng } from '@sched/core';
import { describe, expect, it } from 'vitest';
import { burstSchedule, poissonSchedule } from '../src/arrival-schedule.js';

describe('burstSchedule', () => {
  it('spaces count jobs spacingMs apart from 0 and keeps gaps when it lags', () => {
    const schedule = burstSchedule(4, 80);
    expect(schedule.offsetsMs).toEqual([0, 80, 160, 240]);
    expect(schedule.onLag).toBe('shift');
  });
});

describe('poissonSchedule', () => {
  it('arrives at the requested mean rate within 3 % for a seed', () => {
    const rate = 200;
    const durationS = 100;
    const schedule = poissonSchedule(rate, durationS, seededRng(42));
    const expected = rate * durationS;
    // σ of a Poisson count is √20000 ≈ 141, so 3 % (600) is over 4σ.
    expect(Math.abs(schedule.offsetsMs.length - expected)).toBeLessThan(expected * 0.03);
    expect(schedule.onLag).toBe('catch-up');
  });

  it('has exponential gaps: mean 1/rate and a coefficient of variation near 1', () => {
    const { offsetsMs } = poissonSchedule(50, 400, seededRng(7));
    const gaps = offsetsMs.map((at, i) => at - (offsetsMs[i - 1] ?? 0));
    const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length);
    expect(mean).toBeGreaterThan(20 * 0.95);
    expect(mean).toBeLessThan(20 * 1.05);
    expect(sd / mean).toBeGreaterThan(0.93);
    expect(sd / mean).toBeLessThan(1.07);
  });

  it('is increasing and stays inside the window', () => {
    const { offsetsMs } = poissonSchedule(500, 2, seededRng(1));
    for (let i = 1; i < offsetsMs.length; i++) expect(offsetsMs[i]).toBeGreaterThanOrEqual(offsetsMs[i - 1] ?? 0);
    expect(offsetsMs.at(-1)).toBeLessThan(2000);
    expect(offsetsMs[0]).toBeGreaterThan(0);
  });

  it('gives the same schedule for the same seed and another for another seed', () => {
    const a = poissonSchedule(100, 5, seededRng(3)).offsetsMs;
    expect(poissonSchedule(100, 5, seededRng(3)).offsetsMs).toEqual(a);
    expect(poissonSchedule(100, 5, seededRng(4)).offsetsMs).not.toEqual(a);
  });
});
