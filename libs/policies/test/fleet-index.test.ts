import { describe, expect, it } from 'vitest';
import { FleetIndex } from '../src/index.js';

const workers = [
  { id: 'gpu-0', class: 'gpu', slots: 4, models: ['a', 'b'] },
  { id: 'cpu-0', class: 'cpu', slots: 2, models: ['a'] },
];

describe('FleetIndex', () => {
  it('lists live workers per model and per class, dropping draining and dead ones', () => {
    const index = new FleetIndex(workers);
    expect(index.eligible('a').map((w) => w.id)).toEqual(['gpu-0', 'cpu-0']);
    expect(index.eligibleByClass('a').map((g) => g.map((w) => w.id))).toEqual([['gpu-0'], ['cpu-0']]);
    index.setState(index.indexOf('gpu-0'), 'draining');
    expect(index.eligible('a').map((w) => w.id)).toEqual(['cpu-0']);
    expect(index.eligible('b')).toEqual([]);
    index.setState(index.indexOf('cpu-0'), 'dead');
    expect(index.eligible('a')).toEqual([]);
    index.setState(index.indexOf('gpu-0'), 'live');
    expect(index.eligible('b').map((w) => w.id)).toEqual(['gpu-0']);
  });

  it('counts its own dispatches and completions between refreshes', () => {
    const index = new FleetIndex(workers);
    const gpu = index.indexOf('gpu-0');
    index.dispatched(gpu, 50);
    index.dispatched(gpu, 30);
    expect(index.worker(gpu)).toMatchObject({ depth: 2, queuedWorkMs: 80 });
    index.completed(gpu, 50);
    expect(index.worker(gpu)).toMatchObject({ depth: 1, queuedWorkMs: 30 });
    index.refresh(gpu, { depth: 7, queuedWorkMs: 350, serviceMs: { a: 48 } });
    expect(index.worker(gpu)).toMatchObject({ depth: 7, queuedWorkMs: 350, serviceMs: { a: 48 } });
    index.completed(index.indexOf('cpu-0'));
    expect(index.worker(index.indexOf('cpu-0')).depth).toBe(0);
  });

  it('adds a worker that appears later and updates one that changed', () => {
    const index = new FleetIndex(workers);
    expect(index.upsert({ id: 'cpu-1', class: 'cpu', slots: 1, models: ['b'] })).toBe(2);
    expect(index.eligible('b').map((w) => w.id)).toEqual(['gpu-0', 'cpu-1']);
    index.upsert({ id: 'gpu-0', class: 'gpu', slots: 8, models: ['a'] });
    expect(index.eligible('b').map((w) => w.id)).toEqual(['cpu-1']);
    expect(index.worker(0).slots).toBe(8);
    expect(index.indexOf('nope')).toBe(-1);
  });

  it('estimates service time from observed means of the class when it has no latency model', () => {
    const index = new FleetIndex(workers);
    index.refresh(0, { depth: 0, serviceMs: { a: 40 } });
    expect(index.expectedServiceMs({ model: 'a', priority: 'normal' }, 'gpu')).toBe(40);
    expect(index.expectedServiceMs({ model: 'a', priority: 'normal' }, 'cpu')).toBe(1);
  });
});
