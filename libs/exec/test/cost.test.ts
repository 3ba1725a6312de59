import { describe, expect, it } from 'vitest';
import { busyCost, CostMeter } from '../src/index.js';

describe('cost accounting', () => {
  it('bills busy time at the hourly price', () => {
    expect(busyCost(3_600_000, 2.5)).toBe(2.5);
    expect(busyCost(1800, 2)).toBeCloseTo(0.001);
  });

  it('reports the bill per 1,000 jobs, a batch counting as its jobs', () => {
    const meter = new CostMeter();
    expect(meter.perThousandJobs()).toBe(0);
    meter.record(3600, 1);
    meter.record(7200, 1, 4);
    expect(meter.jobs).toBe(5);
    expect(meter.totalCost).toBeCloseTo(0.003);
    expect(meter.perThousandJobs()).toBeCloseTo(0.6);
  });
});
