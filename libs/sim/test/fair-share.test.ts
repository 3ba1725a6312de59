import { parseCatalog } from '@sched/core';
import { parseModelMix } from '@sched/exec';
import { describe, expect, it } from 'vitest';
import { parseTenantMix, simulate, type SimScenario } from '../src/index.js';

/** Many slots of a short model: a job within its share waits for one slot of 64 to free, not one service time. */
const fleet = parseCatalog({
  models: { resnet50: { gpu: { p50Ms: 8, p99Ms: 15 } } },
  workers: Array.from({ length: 4 }, (_, i) => ({ id: `gpu-${i}`, class: 'gpu', slots: 16 })),
});
/** Jobs per second the fleet completes (64 slots at a mean of about 8.7 ms). */
const CAPACITY = 64 / 0.0087;

function scenario(policy: 'sed' | 'sed-late', load: number, tenants: string, extra: Partial<SimScenario> = {}): SimScenario {
  // maxHeld as live (DISPATCH_CONCURRENCY − 8): past it, sed-late binds the first held job at once.
  return { fleet, policy, seed: 5, maxHeld: 56, tenants: parseTenantMix(tenants), arrivals: { kind: 'poisson', ratePerS: load * CAPACITY, jobs: 40_000, mix: parseModelMix('resnet50=1') }, ...extra };
}

describe('simulate --tenants: fair sharing', () => {
  for (const policy of ['sed', 'sed-late'] as const) {
    it(`${policy}: tenant A bursting 10× B's rate (the fleet 1.1× and 2× over) raises B's p99 by at most 25 %`, () => {
      for (const load of [1.1, 2]) {
        const shared = simulate(scenario(policy, load, 'a=10,b=1'));
        const alone = simulate(scenario(policy, load, 'a=10,b=1', { soloTenant: 'b' }));
        const b = shared.byTenant.b;
        const bAlone = alone.byTenant.b;
        expect(b?.jobs).toBe(bAlone?.jobs);
        expect(Object.keys(alone.byTenant)).toEqual(['b']);
        expect((b?.p99Ms ?? Infinity) / (bAlone?.p99Ms ?? 0)).toBeLessThanOrEqual(1.25);
        // A pays for its own burst: its jobs wait behind each other.
        expect(shared.byTenant.a?.p99Ms ?? 0).toBeGreaterThan(10 * (b?.p99Ms ?? Infinity));
      }
    });

    it(`${policy}: without fair sharing, the same burst makes B wait behind it`, () => {
      const shared = simulate(scenario(policy, 1.1, 'a=10,b=1', { fairShare: false }));
      const alone = simulate(scenario(policy, 1.1, 'a=10,b=1', { soloTenant: 'b', fairShare: false }));
      expect((shared.byTenant.b?.p99Ms ?? 0) / (alone.byTenant.b?.p99Ms ?? Infinity)).toBeGreaterThan(10);
    });

    it(`${policy}: two tenants both over their share split the fleet by weight`, () => {
      // Each sends the fleet's whole capacity. Equal weights: they wait alike. Weights 1:3: B gets three
      // quarters of the fleet, so its backlog grows a third as fast and drains three times faster.
      const equal = simulate(scenario(policy, 2, 'a=1,b=1'));
      const equalRatio = (equal.byTenant.b?.meanMs ?? Infinity) / (equal.byTenant.a?.meanMs ?? 0);
      expect(equalRatio).toBeGreaterThan(0.8);
      expect(equalRatio).toBeLessThan(1.25);
      const weighted = simulate(scenario(policy, 2, 'a=1:1,b=1:3'));
      expect((weighted.byTenant.b?.meanMs ?? Infinity) / (weighted.byTenant.a?.meanMs ?? 0)).toBeLessThan(0.4);
    });
  }

  it('with one tenant, costs about nothing against no tenants (its tags keep arrival order)', () => {
    for (const policy of ['sed', 'sed-late'] as const) {
      const one = simulate(scenario(policy, 0.9, 'only=1'));
      const none = simulate({ ...scenario(policy, 0.9, 'only=1'), tenants: undefined });
      expect(one.jobs).toBe(none.jobs);
      expect(one.p99Ms / none.p99Ms).toBeLessThan(1.1);
      expect(one.p50Ms / none.p50Ms).toBeLessThan(1.1);
    }
  });
});
