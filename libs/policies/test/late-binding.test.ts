import { seededRng } from '@sched/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bindCapacity, FleetIndex, LateBinder, type RoutableJob, type WorkerLiveness } from '../src/index.js';

const MODELS = ['a', 'b'];
const BASE_MS: Record<string, number> = { gpu: 50, cpu: 400 };
const estimate = (model: string, cls: string): number => (BASE_MS[cls] ?? 100) * (model === 'b' ? 2 : 1);

const workerArb = fc.record({
  class: fc.constantFrom('gpu', 'cpu'),
  slots: fc.integer({ min: 1, max: 3 }),
  maxBatch: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
  models: fc.subarray(MODELS, { minLength: 1 }),
  state: fc.constantFrom<WorkerLiveness>('live', 'live', 'live', 'draining', 'dead'),
  depth: fc.integer({ min: 0, max: 8 }),
});
type Spec = typeof workerArb extends fc.Arbitrary<infer T> ? T : never;

function buildIndex(workers: readonly Spec[]): FleetIndex {
  const index = new FleetIndex(
    workers.map((w, i) => ({ id: `w${i}`, class: w.class, slots: w.slots, models: w.models, maxBatch: w.maxBatch })),
    { expectedServiceMs: (model, cls) => estimate(model, cls) },
  );
  workers.forEach((w, i) => {
    index.setState(i, w.state);
    index.refresh(i, { depth: w.depth, queuedWorkMs: w.depth * estimate('a', w.class) });
  });
  return index;
}

const job = (model: string): RoutableJob => ({ model, priority: 'normal' });

/** Runs one round, applying each binding to the index as the live dispatcher and the simulator do. */
/** Without prefetch unless a test says otherwise: a worker takes exactly its slots (× maxBatch). */
function round(index: FleetIndex, held: readonly RoutableJob[], seed: number, binder = new LateBinder({ prefetch: 0 })): { index: number; worker: string; depthBefore: number }[] {
  const bound: { index: number; worker: string; depthBefore: number }[] = [];
  binder.round(held.length, (i) => held[i] as RoutableJob, index, seededRng(seed), (i, id) => {
    const position = index.indexOf(id);
    bound.push({ index: i, worker: id, depthBefore: index.worker(position).depth });
    index.dispatched(position, estimate(held[i]?.model ?? 'a', index.worker(position).class));
  });
  return bound;
}

describe('LateBinder', () => {
  it('binds only to a live worker that serves the job and has room, each held job at most once', () => {
    fc.assert(
      fc.property(fc.array(workerArb, { maxLength: 12 }), fc.array(fc.constantFrom('a', 'b', 'unserved'), { maxLength: 40 }), fc.integer({ min: 0, max: 2 }), fc.integer(), (workers, models, prefetch, seed) => {
        const index = buildIndex(workers);
        const held = models.map(job);
        const bound = round(index, held, seed, new LateBinder({ prefetch }));
        expect(new Set(bound.map((b) => b.index)).size).toBe(bound.length);
        for (const b of bound) {
          const spec = workers[Number(b.worker.slice(1))] as Spec;
          const model = (held[b.index] as RoutableJob).model;
          expect(spec.state).toBe('live');
          expect(spec.models).toContain(model);
          expect(b.depthBefore).toBeLessThan(bindCapacity(index.worker(index.indexOf(b.worker)), prefetch));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('on identical workers, is work-conserving and first come first served: it binds the oldest min(held, room) jobs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 10, maxLength: 10 }),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer(),
        (n, slots, depths, jobs, prefetch, seed) => {
          const workers: Spec[] = Array.from({ length: n }, (_, i) => ({ class: 'gpu', slots, maxBatch: undefined, models: ['a'], state: 'live', depth: depths[i] ?? 0 }));
          const index = buildIndex(workers);
          const room = workers.reduce((sum, w) => sum + Math.max(0, slots + prefetch - w.depth), 0);
          const bound = round(index, Array.from({ length: jobs }, () => job('a')), seed, new LateBinder({ prefetch }));
          expect(bound.map((b) => b.index)).toEqual(Array.from({ length: Math.min(jobs, room) }, (_, i) => i));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps a job for a busy fast worker while waiting there beats the free slow one by the patience margin', () => {
    // gpu: 1 slot, one 50 ms job running; cpu: free, 400 ms. Waiting for the gpu: 100 ms < 0.6 × 400.
    const index = buildIndex([
      { class: 'gpu', slots: 1, maxBatch: undefined, models: ['a'], state: 'live', depth: 1 },
      { class: 'cpu', slots: 1, maxBatch: undefined, models: ['a'], state: 'live', depth: 0 },
    ]);
    expect(round(index, [job('a')], 1)).toEqual([]);
  });

  it('patience is 0.6: waits for the gpu just below the margin, takes the free cpu just above it; a job with a deadline always takes its soonest finish', () => {
    // gpu: 1 slot, busy, queued work Q ms, so waiting there finishes at Q + 50; cpu: free, 400 ms.
    // Without a deadline the job waits while (Q + 50) / 0.6 < 400, i.e. Q < 190.
    const withQueued = (queuedWorkMs: number): FleetIndex => {
      const index = buildIndex([
        { class: 'gpu', slots: 1, maxBatch: undefined, models: ['a'], state: 'live', depth: 1 },
        { class: 'cpu', slots: 1, maxBatch: undefined, models: ['a'], state: 'live', depth: 0 },
      ]);
      index.refresh(0, { depth: 1, queuedWorkMs });
      return index;
    };
    expect(round(withQueued(185), [job('a')], 1)).toEqual([]);
    expect(round(withQueued(195), [job('a')], 1)).toEqual([{ index: 0, worker: 'w1', depthBefore: 0 }]);
    // With a deadline: 245 < 400 on the gpu, so it waits for it; only past 350 does the cpu finish sooner.
    expect(round(withQueued(195), [{ ...job('a'), deadlineMs: 1000 }], 1)).toEqual([]);
    expect(round(withQueued(355), [{ ...job('a'), deadlineMs: 1000 }], 1)).toEqual([{ index: 0, worker: 'w1', depthBefore: 0 }]);
  });

  it('gives a free slow worker to the newest held job, not the oldest, once the line for the fast one is long', () => {
    const index = buildIndex([
      { class: 'gpu', slots: 1, maxBatch: undefined, models: ['a'], state: 'live', depth: 1 },
      { class: 'cpu', slots: 1, maxBatch: undefined, models: ['a'], state: 'live', depth: 0 },
    ]);
    // Behind the running job, the 4th held job would finish on the gpu at 250 ms > 0.6 × 400: the cpu is
    // taken, by the job that has waited least (index 9), while the older ones keep their gpu places.
    const bound = round(index, Array.from({ length: 10 }, () => job('a')), 1);
    expect(bound).toEqual([{ index: 9, worker: 'w1', depthBefore: 0 }]);
  });

  it('on a sampled fleet, always considers the worker that just freed a slot', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99 }), fc.integer(), (freedAt, seed) => {
        // 100 identical 1-slot workers (sampled: above the scan limit of 32), all busy but one.
        const workers: Spec[] = Array.from({ length: 100 }, (_, i) => ({ class: 'gpu', slots: 1, maxBatch: undefined, models: ['a'], state: 'live', depth: i === freedAt ? 0 : 1 }));
        const index = buildIndex(workers);
        const held = Array.from({ length: 10 }, () => job('a'));
        const bound: string[] = [];
        new LateBinder({ prefetch: 0 }).round(held.length, (i) => held[i] as RoutableJob, index, seededRng(seed), (_, id) => {
          bound.push(id);
          index.dispatched(index.indexOf(id), 50);
        }, index.worker(freedAt));
        expect(bound).toEqual([`w${freedAt}`]);
      }),
      { numRuns: 200 },
    );
  });

  it('prefetch (default 1): a busy worker takes one job into its queue beyond its slots, no more', () => {
    const index = buildIndex([{ class: 'gpu', slots: 1, maxBatch: undefined, models: ['a'], state: 'live', depth: 1 }]);
    expect(round(index, Array.from({ length: 3 }, () => job('a')), 1, new LateBinder())).toEqual([{ index: 0, worker: 'w0', depthBefore: 1 }]);
  });

  it('lets a batch gather: a batching worker takes up to slots × maxBatch', () => {
    const index = buildIndex([{ class: 'gpu', slots: 1, maxBatch: 4, models: ['a'], state: 'live', depth: 0 }]);
    expect(round(index, Array.from({ length: 6 }, () => job('a')), 1).map((b) => b.index)).toEqual([0, 1, 2, 3]);
  });

  it('looks at no more than lookahead jobs, and holds a job of a model nobody serves', () => {
    const index = buildIndex([{ class: 'gpu', slots: 8, maxBatch: undefined, models: ['a'], state: 'live', depth: 0 }]);
    const held = [job('unserved'), ...Array.from({ length: 9 }, () => job('a'))];
    const bound = round(index, held, 1, new LateBinder({ lookahead: 5, prefetch: 0 }));
    expect(bound.map((b) => b.index)).toEqual([1, 2, 3, 4]);
  });
});
