import { bundledFleetPath, loadCatalog, parseCatalog, seededRng } from '@sched/core';
import { describe, expect, it } from 'vitest';
import { buildArrivals, createModelMix, generateFleet, simulate, type SimScenario } from '../src/index.js';
import { LatencyModel } from '@sched/exec';

const heterogeneous = loadCatalog(bundledFleetPath('heterogeneous'));
const fleetDefault = loadCatalog(bundledFleetPath('default'));

function poissonAt(load: number, fleet = heterogeneous, jobs = 50_000): SimScenario['arrivals'] {
  return buildArrivals(fleet, new LatencyModel(fleet.models), { load, jobs }).spec;
}

describe('simulate', () => {
  it('gives identical output for the same seed, and different output for another', () => {
    for (const policy of ['sed', 'sed-late', 'p2c', 'round-robin', 'shared-queue'] as const) {
      const run = (seed: number) => simulate({ fleet: fleetDefault, policy, seed, arrivals: poissonAt(0.8, fleetDefault, 20_000) });
      expect(run(5)).toEqual(run(5));
      expect(run(5).p99Ms).not.toBe(run(6).p99Ms);
    }
  });

  it('completes every job once, and counts jobs of an unknown model as unroutable', () => {
    const result = simulate({
      fleet: heterogeneous,
      policy: 'jsq',
      seed: 1,
      arrivals: { kind: 'poisson', ratePerS: 10, jobs: 1000, mix: createModelMix({ default: 9, nope: 1 }) },
    });
    expect(result.jobs + result.unroutable).toBe(1000);
    expect(result.unroutable).toBeGreaterThan(50);
    expect(Object.values(result.sharePerWorker).reduce((a, b) => a + b, 0)).toBeCloseTo(1);
  });

  it('on the heterogeneous fleet at 50 % load, sed keeps p99 far below greedy-gpu and round-robin', () => {
    const p99 = (policy: SimScenario['policy']) => simulate({ fleet: heterogeneous, policy, seed: 1, arrivals: poissonAt(0.5) }).p99Ms;
    const sed = p99('sed');
    expect(sed * 2).toBeLessThan(p99('greedy-gpu'));
    expect(sed * 10).toBeLessThan(p99('round-robin'));
  });

  it('sed-late: completes every job once, and keeps p99 within 10 % of the best other policy at 50 / 80 / 95 % on the heterogeneous fleet', () => {
    for (const load of [0.5, 0.8, 0.95]) {
      const arrivals = poissonAt(load, heterogeneous, 40_000);
      const run = (policy: SimScenario['policy']) => simulate({ fleet: heterogeneous, policy, seed: 1, arrivals, policyOptions: { sloMs: 500 } });
      const late = run('sed-late');
      expect(late.jobs).toBe(40_000);
      // Each job ran exactly once: the shares of the jobs run per worker add up to 1.
      expect(Object.values(late.sharePerWorker).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      const others = (['greedy-gpu', 'jsq', 'sed', 'cost', 'shared-queue'] as const).map((p) => run(p).p99Ms);
      expect(late.p99Ms).toBeLessThanOrEqual(Math.min(...others) * 1.1);
    }
  });

  it('gains throughput from batching on the gpu class at saturation', () => {
    const gpus = parseCatalog({
      models: { m: { gpu: { p50Ms: 50, p99Ms: 50, batchAlpha: 0.1 } } },
      workers: [{ id: 'g', class: 'gpu', slots: 1 }],
    });
    const overload = { kind: 'poisson', ratePerS: 100, jobs: 20_000, mix: createModelMix({ m: 1 }) } as const;
    const alone = simulate({ fleet: gpus, policy: 'sed', seed: 1, arrivals: overload });
    const batched = simulate({ fleet: gpus, policy: 'sed', seed: 1, arrivals: overload, batchingByClass: { gpu: { maxBatch: 8, maxQueueDelayMs: 5 } } });
    expect(alone.throughput).toBeCloseTo(20, 0);
    expect(batched.meanBatchSize).toBeGreaterThan(4);
    expect(batched.throughput).toBeGreaterThan(alone.throughput * 4);
  });

  it('a lone job under batching waits maxQueueDelayMs before it runs', () => {
    const gpus = parseCatalog({
      models: { m: { gpu: { p50Ms: 50, p99Ms: 50, batchAlpha: 0.1 } } },
      workers: [{ id: 'g', class: 'gpu', slots: 1, maxBatch: 8, maxQueueDelayMs: 7 }],
    });
    const result = simulate({ fleet: gpus, policy: 'sed', seed: 1, arrivals: { kind: 'trace', speed: 1, arrivals: [{ t: 0, model: 'm' }] } });
    expect(result.meanWaitMs).toBeCloseTo(7);
    expect(result.p50Ms).toBeCloseTo(57);
  });

  it('bills busy time: the cpu-only routing of cost is cheaper than sed when the SLO allows it', () => {
    const arrivals = poissonAt(0.3, fleetDefault, 30_000);
    const cost = simulate({ fleet: fleetDefault, policy: 'cost', seed: 1, arrivals, policyOptions: { sloMs: 1000 } });
    const sed = simulate({ fleet: fleetDefault, policy: 'sed', seed: 1, arrivals });
    expect(cost.costPer1000Jobs).toBeLessThan(sed.costPer1000Jobs);
    expect(cost.utilisationByClass.cpu).toBeGreaterThan(sed.utilisationByClass.cpu ?? 0);
  });

  it('a stale view (completions heard late) makes sed worse, not better', () => {
    const arrivals = poissonAt(0.8);
    const fresh = simulate({ fleet: heterogeneous, policy: 'sed', seed: 1, arrivals });
    const stale = simulate({ fleet: heterogeneous, policy: 'sed', seed: 1, arrivals, completionLagMs: 500, refreshMs: 5000 });
    expect(stale.meanMs).toBeGreaterThan(fresh.meanMs);
  });

  it('replays a sized trace at a speed factor', () => {
    const rng = seededRng(1);
    const rows = Array.from({ length: 2000 }, (_, i) => ({ t: i * 1000, model: 'default', size: { inputTokens: Math.floor(rng() * 100), outputTokens: 1 } }));
    const result = simulate({ fleet: heterogeneous, policy: 'sed', seed: 1, arrivals: { kind: 'trace', arrivals: rows, speed: 10 } });
    expect(result.jobs).toBe(2000);
    expect(result.durationMs).toBeGreaterThan(199_900);
    expect(result.durationMs).toBeLessThan(201_000);
  });
});

describe('generateFleet', () => {
  it('keeps the template class mix and gives unique ids', () => {
    const fleet = generateFleet(fleetDefault, 1000);
    expect(fleet.workers).toHaveLength(1000);
    expect(fleet.workers.filter((w) => w.class === 'gpu').length).toBeCloseTo(333, -1);
    expect(new Set(fleet.workers.map((w) => w.id)).size).toBe(1000);
  });
});
