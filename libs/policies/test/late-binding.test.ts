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
function round(index: FleetIndex, held: readonly RoutableJob[], seed: number, binder = new LateBinder()): { index: number; worker: string; depthBefore: number }[] {
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
      fc.property(fc.array(workerArb, { maxLength: 12 }), fc.array(fc.constantFrom('a', 'b', 'unserved'), { maxLength: 40 }), fc.integer(), (workers, models, seed) => {
        const index = buildIndex(workers);
        const held = models.map(job);
        const bound = round(index, held, seed);
        expect(new Set(bound.map((b) => b.index)).size).toBe(bound.length);
        for (const b of bound) {
          const spec = workers[Number(b.worker.slice(1))] as Spec;
          const model = (held[b.index] as RoutableJob).model;
          expect(spec.state).toBe('live');
          expect(spec.models).toContain(model);
          expect(b.depthBefore).toBeLessThan(bindCapacity(index.worker(index.indexOf(b.worker))));
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
        fc.integer(),
        (n, slots, depths, jobs, seed) => {
          const workers: Spec[] = Array.from({ length: n }, (_, i) => ({ class: 'gpu', slots, maxBatch: undefined, models: ['a'], state: 'live', depth: depths[i] ?? 0 }));
          const index = buildIndex(workers);
          const room = workers.reduce((sum, w) => sum + Math.max(0, slots - w.depth), 0);
          const bound = round(index, Array.from({ length: jobs }, () => job('a')), seed);
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

  it('lets a batch gather: a batching worker takes up to slots × maxBatch', () => {
    const index = buildIndex([{ class: 'gpu', slots: 1, maxBatch: 4, models: ['a'], state: 'live', depth: 0 }]);
    expect(round(index, Array.from({ length: 6 }, () => job('a')), 1).map((b) => b.index)).toEqual([0, 1, 2, 3]);
  });

  it('looks at no more than lookahead jobs, and holds a job of a model nobody serves', () => {
    const index = buildIndex([{ class: 'gpu', slots: 8, maxBatch: undefined, models: ['a'], state: 'live', depth: 0 }]);
    const held = [job('unserved'), ...Array.from({ length: 9 }, () => job('a'))];
    const bound = round(index, held, 1, new LateBinder({ lookahead: 5 }));
    expect(bound.map((b) => b.index)).toEqual([1, 2, 3, 4]);
  });
});
