import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Batcher } from '../src/index.js';

describe('Batcher', () => {
  it('fires a full batch at once', () => {
    const batcher = new Batcher<number>({ maxBatch: 4, maxQueueDelayMs: 50 });
    for (let i = 0; i < 3; i++) batcher.add(i, 'm', 10);
    expect(batcher.poll(10)).toBeNull();
    batcher.add(3, 'm', 11);
    expect(batcher.poll(11)).toEqual({ model: 'm', items: [0, 1, 2, 3] });
    expect(batcher.size).toBe(0);
    expect(batcher.nextWakeAt()).toBeNull();
  });

  it('fires a lone job after maxQueueDelayMs, not before', () => {
    const batcher = new Batcher<string>({ maxBatch: 8, maxQueueDelayMs: 5 });
    batcher.add('only', 'm', 100);
    expect(batcher.poll(104.9)).toBeNull();
    expect(batcher.nextWakeAt()).toBe(105);
    expect(batcher.poll(105)).toEqual({ model: 'm', items: ['only'] });
  });

  it('never mixes models, and serves the oldest due model first', () => {
    const batcher = new Batcher<string>({ maxBatch: 2, maxQueueDelayMs: 10 });
    batcher.add('b1', 'b', 1);
    batcher.add('a1', 'a', 2);
    batcher.add('a2', 'a', 3);
    batcher.add('b2', 'b', 4);
    expect(batcher.poll(4)).toEqual({ model: 'b', items: ['b1', 'b2'] });
    expect(batcher.poll(4)).toEqual({ model: 'a', items: ['a1', 'a2'] });
  });

  it('without batching options, every job fires alone and in arrival order', () => {
    const batcher = new Batcher<number>();
    batcher.add(1, 'x', 0);
    batcher.add(2, 'y', 1);
    batcher.add(3, 'x', 2);
    expect([batcher.poll(2), batcher.poll(2), batcher.poll(2), batcher.poll(2)]).toEqual([
      { model: 'x', items: [1] },
      { model: 'y', items: [2] },
      { model: 'x', items: [3] },
      null,
    ]);
  });

  it('rejects a batch size below 1 and a negative delay', () => {
    expect(() => new Batcher({ maxBatch: 0 })).toThrow(/maxBatch/);
    expect(() => new Batcher({ maxQueueDelayMs: -1 })).toThrow(/maxQueueDelayMs/);
  });

  it('hands out every job exactly once, in FIFO order per model, in batches no larger than maxBatch', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 20 }),
        fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.integer({ min: 0, max: 10 })), { maxLength: 200 }),
        (maxBatch, delay, arrivals) => {
          const batcher = new Batcher<number>({ maxBatch, maxQueueDelayMs: delay });
          const out: { model: string; items: number[] }[] = [];
          let now = 0;
          arrivals.forEach(([model, gap], i) => {
            now += gap;
            batcher.add(i, model, now);
            for (let batch = batcher.poll(now); batch !== null; batch = batcher.poll(now)) out.push(batch);
          });
          for (let wake = batcher.nextWakeAt(); wake !== null; wake = batcher.nextWakeAt()) {
            for (let batch = batcher.poll(wake); batch !== null; batch = batcher.poll(wake)) out.push(batch);
          }
          for (const model of ['a', 'b']) {
            const expected = arrivals.flatMap(([m], i) => (m === model ? [i] : []));
            expect(out.filter((b) => b.model === model).flatMap((b) => b.items)).toEqual(expected);
          }
          for (const batch of out) expect(batch.items.length).toBeLessThanOrEqual(maxBatch);
        },
      ),
    );
  });
});
