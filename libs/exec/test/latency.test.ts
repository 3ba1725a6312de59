import { parseCatalog, seededRng } from '@sched/core';
import { describe, expect, it } from 'vitest';
import { batchLatencyMs, LatencyModel } from '../src/index.js';

const fleet = parseCatalog({
  models: {
    llm: {
      gpu: { p50Ms: 20, p99Ms: 20, prefillMsPerToken: 0.01, decodeMsPerToken: 0.5, batchAlpha: 0.1 },
      cpu: { p50Ms: 100, p99Ms: 200 },
    },
    mm: { cpu: { p50Ms: 10, p99Ms: 66.44, distribution: 'exponential' } },
  },
  workers: [{ id: 'g', class: 'gpu', slots: 1 }],
});

describe('LatencyModel', () => {
  const latency = new LatencyModel(fleet.models);

  it('adds prefill per input token and decode per output token to the base', () => {
    const size = { inputTokens: 2000, outputTokens: 100 };
    expect(latency.sampleMs('llm', 'gpu', seededRng(1), size)).toBeCloseTo(20 + 20 + 50);
    expect(latency.expectedMs('llm', 'gpu', size)).toBeCloseTo(90);
    expect(latency.expectedMs('llm', 'gpu')).toBeCloseTo(20);
  });

  it('follows the batching curve base × (1 + α·(b − 1)), with α = 1 (no gain) by default', () => {
    expect(batchLatencyMs(20, 8, 0.1)).toBeCloseTo(34);
    expect(latency.sampleBatchMs('llm', 'gpu', 8, seededRng(1))).toBeCloseTo(34);
    expect(latency.batchAlpha('llm', 'cpu')).toBe(1);
    expect(latency.sampleBatchMs('llm', 'gpu', 1, seededRng(1))).toBeCloseTo(20);
  });

  it('samples a lognormal whose median and 99th percentile match the fleet file', () => {
    const rng = seededRng(42);
    const samples = Float64Array.from({ length: 200_000 }, () => latency.sampleMs('llm', 'cpu', rng)).sort();
    expect(samples[100_000]).toBeCloseTo(100, -0.5);
    expect(samples[198_000]! / 200).toBeGreaterThan(0.97);
    expect(samples[198_000]! / 200).toBeLessThan(1.03);
  });

  it('samples an exponential with mean p50 / ln 2', () => {
    const rng = seededRng(9);
    let sum = 0;
    for (let i = 0; i < 200_000; i++) sum += latency.sampleMs('mm', 'cpu', rng);
    expect(sum / 200_000 / (10 / Math.LN2)).toBeCloseTo(1, 1);
    expect(latency.expectedMs('mm', 'cpu')).toBeCloseTo(10 / Math.LN2);
  });
});
