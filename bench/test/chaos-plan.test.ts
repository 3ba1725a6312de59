import { describe, expect, it } from 'vitest';
import { parseCatalog, seededRng } from '@sched/core';
import { chaosPlan, hostLayout, pickVictim } from '../chaos-plan.js';

describe('the chaos plan', () => {
  it('kills a worker host every 10 s while the load runs and does each other fault once, the fill first', () => {
    const plan = chaosPlan(60);
    expect(plan.hostKills.map((s) => s.atMs)).toEqual([10_000, 20_000, 30_000, 40_000, 50_000]);
    expect(plan.once.map((s) => s.action)).toEqual(['fill-redis', 'restart-redis', 'kill-dispatcher']);
    expect(plan.once.every((s) => s.atMs > 0 && s.atMs < 60_000)).toBe(true);
    expect(chaosPlan(20).hostKills.map((s) => s.atMs)).toEqual([10_000]);
  });

  it('deals the fleet round-robin over the hosts, so each gets a share of both classes', () => {
    const fleet = parseCatalog({
      models: { m: { gpu: { p50Ms: 1, p99Ms: 1 }, cpu: { p50Ms: 2, p99Ms: 2 } } },
      workers: ['gpu-0', 'gpu-1', 'gpu-2', 'cpu-0', 'cpu-1', 'cpu-2'].map((id) => ({ id, class: id.slice(0, 3), slots: 1 })),
    });
    expect(hostLayout(fleet, 3)).toEqual([
      { name: 'host-0', workerIds: ['gpu-0', 'cpu-0'] },
      { name: 'host-1', workerIds: ['gpu-1', 'cpu-1'] },
      { name: 'host-2', workerIds: ['gpu-2', 'cpu-2'] },
    ]);
    expect(() => hostLayout(fleet, 7)).toThrow(RangeError);
  });

  it('picks victims only among the candidates, the same ones for the same seed', () => {
    const picks = (seed: number) => {
      const rng = seededRng(seed);
      return Array.from({ length: 20 }, () => pickVictim(['host-0', 'host-2'], rng));
    };
    expect(new Set(picks(1))).toEqual(new Set(['host-0', 'host-2']));
    expect(picks(1)).toEqual(picks(1));
    expect(pickVictim([], seededRng(1))).toBeUndefined();
  });
});
