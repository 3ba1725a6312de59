import { describe, expect, it } from 'vitest';
import { ServiceStats } from '../src/service-stats.js';

describe('ServiceStats', () => {
  it('reports the first service time of a model as is, then an exponentially weighted mean', () => {
    const stats = new ServiceStats(0.5);
    stats.record('a', 100);
    expect(stats.snapshot()).toEqual({ a: 100 });
    stats.record('a', 200);
    stats.record('b', 10);
    expect(stats.snapshot()).toEqual({ a: 150, b: 10 });
  });

  it('starts at a batch size of 1 and moves towards the batches run', () => {
    const stats = new ServiceStats(0.5);
    expect(stats.batchSize).toBe(1);
    stats.recordBatch(4);
    expect(stats.batchSize).toBe(2.5);
  });

  it('rounds to hundredths, as the heartbeat carries them', () => {
    const stats = new ServiceStats(0.1);
    stats.record('a', 1 / 3);
    expect(stats.snapshot()).toEqual({ a: 0.33 });
  });
});
