import { POLICY_NAMES, seededRng } from '@sched/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { candidates, createPolicy, expectedDelayMs, FleetIndex, type RoutableJob, type WorkerLiveness } from '../src/index.js';

const MODELS = ['a', 'b', 'c'];
const BASE_MS: Record<string, number> = { gpu: 10, cpu: 80, tpu: 30 };

function estimate(model: string, cls: string, size: { inputTokens: number; outputTokens: number } | undefined): number {
  const base = (BASE_MS[cls] ?? 50) * (model === 'c' ? 3 : 1);
  return size === undefined ? base : base + size.inputTokens * 0.01 + size.outputTokens * 0.5;
}

const workerArb = fc.record({
  class: fc.constantFrom('gpu', 'cpu', 'tpu'),
  slots: fc.integer({ min: 1, max: 4 }),
  models: fc.subarray(MODELS, { minLength: 1 }),
  state: fc.constantFrom<WorkerLiveness>('live', 'live', 'draining', 'dead'),
  depth: fc.integer({ min: 0, max: 20 }),
  costPerHour: fc.option(fc.double({ min: 0, max: 5, noNaN: true }), { nil: undefined }),
  observedMs: fc.option(fc.double({ min: 1, max: 500, noNaN: true }), { nil: undefined }),
});
type WorkerSpec = typeof workerArb extends fc.Arbitrary<infer T> ? T : never;

const jobArb = fc.record({
  model: fc.constantFrom('a', 'b', 'c', 'unserved'),
  priority: fc.constant('normal' as const),
  deadlineMs: fc.option(fc.integer({ min: 1, max: 2000 }), { nil: undefined }),
  size: fc.option(fc.record({ inputTokens: fc.nat(8000), outputTokens: fc.nat(300) }), { nil: undefined }),
});

function buildIndex(workers: readonly WorkerSpec[]): FleetIndex {
  const index = new FleetIndex(
    workers.map((w, i) => ({ id: `w${i}`, class: w.class, slots: w.slots, models: w.models, costPerHour: w.costPerHour })),
    { expectedServiceMs: estimate },
  );
  workers.forEach((w, i) => {
    index.setState(i, w.state);
    const work = w.depth * estimate('a', w.class, undefined);
    index.refresh(i, { depth: w.depth, queuedWorkMs: work, serviceMs: w.observedMs === undefined ? undefined : { a: w.observedMs } });
  });
  return index;
}

function isEligible(w: WorkerSpec, model: string): boolean {
  return w.state === 'live' && w.models.includes(model);
}

describe('every policy', () => {
  for (const name of POLICY_NAMES) {
    it(`${name} picks only a live worker that serves the model, and null only when none exists`, () => {
      fc.assert(
        fc.property(fc.array(workerArb, { minLength: 0, maxLength: 80 }), jobArb, fc.integer(), (workers, job, seed) => {
          const policy = createPolicy(name, { sloMs: 300 });
          const index = buildIndex(workers);
          const rng = seededRng(seed);
          for (let k = 0; k < 3; k++) {
            const picked = policy(job, index, rng);
            const anyEligible = workers.some((w) => isEligible(w, job.model));
            if (!anyEligible) {
              expect(picked).toBeNull();
              continue;
            }
            expect(picked).not.toBeNull();
            const worker = workers[Number((picked as string).slice(1))] as WorkerSpec;
            expect(isEligible(worker, job.model)).toBe(true);
          }
        }),
        { numRuns: 300 },
      );
    });
  }
});

describe('sed', () => {
  it('on a fleet small enough to scan, never picks a worker with a later expected completion than another eligible one', () => {
    fc.assert(
      fc.property(fc.array(workerArb, { minLength: 1, maxLength: 32 }), jobArb, fc.integer(), (workers, job, seed) => {
        const index = buildIndex(workers);
        const picked = createPolicy('sed')(job, index, seededRng(seed));
        const eligible = index.eligible(job.model);
        if (picked === null) {
          expect(eligible).toHaveLength(0);
          return;
        }
        const pickedDelay = expectedDelayMs(job, index.worker(index.indexOf(picked)), index);
        for (const other of eligible) expect(pickedDelay).toBeLessThanOrEqual(expectedDelayMs(job, other, index));
      }),
      { numRuns: 500 },
    );
  });

  it('with sampling on a large fleet, is never worse than the best of its sample', () => {
    fc.assert(
      fc.property(fc.array(workerArb, { minLength: 60, maxLength: 200 }), jobArb, fc.integer(), (workers, job, seed) => {
        const index = buildIndex(workers);
        const picked = createPolicy('sed')(job, index, seededRng(seed));
        // The policy draws its sample first, so the same seed replays the same sample.
        const sample = candidates(job.model, index, seededRng(seed));
        if (picked === null) {
          expect(sample).toHaveLength(0);
          return;
        }
        const pickedDelay = expectedDelayMs(job, index.worker(index.indexOf(picked)), index);
        expect(sample.map((w) => w.id)).toContain(picked);
        for (const other of sample) expect(pickedDelay).toBeLessThanOrEqual(expectedDelayMs(job, other, index));
      }),
      { numRuns: 300 },
    );
  });

  it('samples at least one worker of every class that serves the model', () => {
    const workers = [
      ...Array.from({ length: 4 }, (_, i) => ({ id: `gpu-${i}`, class: 'gpu', slots: 1, models: ['a'] })),
      ...Array.from({ length: 400 }, (_, i) => ({ id: `cpu-${i}`, class: 'cpu', slots: 1, models: ['a'] })),
    ];
    const index = new FleetIndex(workers, { expectedServiceMs: estimate });
    const rng = seededRng(7);
    for (let k = 0; k < 100; k++) {
      const classes = new Set(candidates('a', index, rng).map((w) => w.class));
      expect(classes).toEqual(new Set(['gpu', 'cpu']));
    }
  });

  it('routes to a busy gpu while waiting for it is faster than an idle cpu, and to the cpu once it is not', () => {
    const index = new FleetIndex(
      [
        { id: 'gpu-0', class: 'gpu', slots: 1, models: ['a'] },
        { id: 'cpu-0', class: 'cpu', slots: 1, models: ['a'] },
      ],
      { expectedServiceMs: estimate },
    );
    const job: RoutableJob = { model: 'a', priority: 'normal' };
    const sed = createPolicy('sed');
    index.refresh(0, { depth: 5, queuedWorkMs: 50 });
    expect(sed(job, index, seededRng(1))).toBe('gpu-0');
    index.refresh(0, { depth: 8, queuedWorkMs: 80 });
    expect(sed(job, index, seededRng(1))).toBe('cpu-0');
  });

  it('uses the job size: a long job avoids the slow class that a short one may take', () => {
    const index = new FleetIndex(
      [
        { id: 'gpu-0', class: 'gpu', slots: 1, models: ['a'] },
        { id: 'cpu-0', class: 'cpu', slots: 1, models: ['a'] },
      ],
      { expectedServiceMs: (_m, cls, size) => (cls === 'gpu' ? 10 : 80) * (1 + (size?.outputTokens ?? 0) / 10) },
    );
    index.refresh(0, { depth: 10, queuedWorkMs: 100 });
    const sed = createPolicy('sed');
    expect(sed({ model: 'a', priority: 'normal', size: { inputTokens: 0, outputTokens: 0 } }, index, seededRng(1))).toBe('cpu-0');
    expect(sed({ model: 'a', priority: 'normal', size: { inputTokens: 0, outputTokens: 100 } }, index, seededRng(1))).toBe('gpu-0');
  });
});

describe('cost', () => {
  const fleet = [
    { id: 'gpu-0', class: 'gpu', slots: 1, models: ['a'], costPerHour: 3 },
    { id: 'cpu-0', class: 'cpu', slots: 1, models: ['a'], costPerHour: 0.5 },
  ];

  it('takes the cheap cpu while it meets the latency target, else the fastest', () => {
    const index = new FleetIndex(fleet, { expectedServiceMs: estimate });
    const cost = createPolicy('cost', { sloMs: 100 });
    expect(cost({ model: 'a', priority: 'normal' }, index, seededRng(1))).toBe('cpu-0');
    index.refresh(1, { depth: 1, queuedWorkMs: 80 });
    expect(cost({ model: 'a', priority: 'normal' }, index, seededRng(1))).toBe('gpu-0');
    expect(cost({ model: 'a', priority: 'normal', deadlineMs: 1000 }, index, seededRng(1))).toBe('cpu-0');
  });

  it('falls back to sed when no worker meets the target, and prefers a per-model SLO over the global one', () => {
    const index = new FleetIndex(fleet, { expectedServiceMs: estimate });
    expect(createPolicy('cost', { sloMs: 1 })({ model: 'a', priority: 'normal' }, index, seededRng(1))).toBe('gpu-0');
    expect(createPolicy('cost', { sloMs: 1, sloMsByModel: { a: 500 } })({ model: 'a', priority: 'normal' }, index, seededRng(1))).toBe('cpu-0');
  });
});

describe('baselines', () => {
  const index = new FleetIndex(['x', 'y', 'z'].map((id) => ({ id, class: 'cpu', slots: 1, models: ['a'] })));
  const job: RoutableJob = { model: 'a', priority: 'normal' };

  it('round-robin visits every worker in turn, each instance with its own rotation', () => {
    const first = createPolicy('round-robin');
    const second = createPolicy('round-robin');
    const rng = seededRng(1);
    expect([1, 2, 3, 4].map(() => first(job, index, rng))).toEqual(['x', 'y', 'z', 'x']);
    expect(second(job, index, rng)).toBe('x');
  });

  it('p2c takes the less loaded of its two samples', () => {
    const loaded = new FleetIndex([
      { id: 'busy', class: 'cpu', slots: 1, models: ['a'] },
      { id: 'idle', class: 'cpu', slots: 1, models: ['a'] },
    ]);
    loaded.refresh(0, { depth: 3 });
    for (let seed = 0; seed < 20; seed++) expect(createPolicy('p2c')(job, loaded, seededRng(seed))).toBe('idle');
  });

  it('random spreads over every worker', () => {
    const rng = seededRng(3);
    const seen = new Set(Array.from({ length: 60 }, () => createPolicy('random')(job, index, rng)));
    expect(seen).toEqual(new Set(['x', 'y', 'z']));
  });
});
