import { parseCatalog, PRIORITIES, type Priority } from '@sched/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HeldJobs, type HeldJob } from '../src/index.js';

const { models } = parseCatalog({
  models: { a: { gpu: { p50Ms: 50, p99Ms: 50 }, cpu: { p50Ms: 400, p99Ms: 400 } }, b: { gpu: { p50Ms: 100, p99Ms: 100 } } },
  workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }],
});

interface Item extends HeldJob {
  readonly name: string;
}

let named = 0;
const item = (priority: Priority, createdAt: number, extra: Partial<Item> = {}): Item => ({ name: `j${named++}`, model: 'a', priority, createdAt, ...extra });
const queue = (capacity?: number): HeldJobs<Item> => new HeldJobs<Item>({ jobOf: (i) => i, models, ...(capacity === undefined ? {} : { capacity }) });
const order = (held: HeldJobs<Item>): string[] => Array.from({ length: held.count }, (_, i) => held.at(i).name);
const rank = (p: Priority): number => PRIORITIES.indexOf(p);
/** The specified order: priority, then submission time, then arrival (a stable sort of the arrivals). */
const expected = (items: readonly Item[]): string[] =>
  [...items].sort((x, y) => rank(x.priority) - rank(y.priority) || x.createdAt - y.createdAt).map((i) => i.name);
const noWorker = { eligible: () => [] };
const someWorker = { eligible: () => [{ id: 'w', class: 'gpu', slots: 1, depth: 0 }] };

const itemArb = fc.record({ priority: fc.constantFrom<Priority>(...PRIORITIES), createdAt: fc.integer({ min: 0, max: 30 }), model: fc.constantFrom('a', 'b') });

describe('HeldJobs', () => {
  it('orders held jobs by priority, then submission time, then arrival', () => {
    fc.assert(
      fc.property(fc.array(itemArb, { maxLength: 60 }), (specs) => {
        const held = queue();
        const items = specs.map((s) => item(s.priority, s.createdAt, { model: s.model }));
        for (const i of items) expect(held.add(i)).toBeUndefined();
        expect(held.count).toBe(items.length);
        expect(order(held)).toEqual(expected(items));
      }),
    );
  });

  it('puts a job that comes back with an old submission time ahead of newer ones of its priority', () => {
    const held = queue();
    const [n1, n2, late, high] = [item('normal', 10), item('normal', 20), item('normal', 5), item('high', 30)];
    for (const i of [n1, n2, late, high]) held.add(i);
    expect(order(held)).toEqual([high.name, late.name, n1.name, n2.name]);
  });

  it('removes exactly the given positions, in any order, keeping the rest in order, across adds and removals', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), spec: itemArb }),
      fc.record({ kind: fc.constant('removeAt' as const), picks: fc.array(fc.nat(80), { maxLength: 8 }) }),
      fc.record({ kind: fc.constant('remove' as const), pick: fc.nat(80) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const held = queue();
        let model: Item[] = [];
        for (const o of ops) {
          if (o.kind === 'add') {
            const i = item(o.spec.priority, o.spec.createdAt, { model: o.spec.model });
            held.add(i);
            model = [...model, i].sort((x, y) => rank(x.priority) - rank(y.priority) || x.createdAt - y.createdAt);
          } else if (o.kind === 'removeAt') {
            const indices = [...new Set(o.picks.filter((p) => p < model.length))];
            held.removeAt([...indices].reverse());
            model = model.filter((_, i) => !indices.includes(i));
          } else if (model.length > 0) {
            const victim = model[o.pick % model.length] as Item;
            expect(held.remove(victim)).toBe(true);
            expect(held.remove(victim)).toBe(false);
            model = model.filter((i) => i !== victim);
          }
          expect(order(held)).toEqual(model.map((i) => i.name));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps its order over a long run of holds and binds near the front and the back (the simulator’s pattern)', () => {
    const held = queue();
    // The reference: one array per priority (submission times only grow here).
    const high: Item[] = [];
    const normal: Item[] = [];
    for (let t = 0; t < 20_000; t++) {
      const i = item(t % 10 === 0 ? 'high' : 'normal', t);
      held.add(i);
      (i.priority === 'high' ? high : normal).push(i);
      if (t % 3 !== 0) {
        const picks = [...new Set([0, Math.min(2, held.count - 1), held.count - 1])];
        held.removeAt([...picks]);
        for (const p of [...picks].sort((x, y) => y - x)) {
          if (p < high.length) high.splice(p, 1);
          else normal.splice(p - high.length, 1);
        }
      }
    }
    expect(held.count).toBe(high.length + normal.length);
    expect(order(held)).toEqual([...high, ...normal].map((i) => i.name));
  });

  it('when full, gives back the first held job of the new job’s model to bind at once', () => {
    const held = queue(3);
    const [a1, b1, a2] = [item('normal', 1), item('normal', 2, { model: 'b' }), item('normal', 3)];
    for (const i of [a1, b1, a2]) expect(held.add(i)).toBeUndefined();
    const b2 = item('normal', 4, { model: 'b' });
    expect(held.add(b2)).toBe(b1);
    expect(order(held)).toEqual([a1.name, a2.name, b2.name]);
    // A high-priority job goes first: when it overflows the queue, it is itself the one to bind.
    const urgent = item('high', 5, { model: 'b' });
    expect(held.add(urgent)).toBe(urgent);
    expect(held.count).toBe(3);
  });

  it('sweeps out the jobs of a model no worker serves (parked) and those past their latest start (expired)', () => {
    const held = queue();
    // Model a's fastest class takes 50 ms: with a 200 ms deadline from t=0 it must start by 150.
    const [soon, later, none] = [item('normal', 0, { deadlineMs: 200 }), item('normal', 0, { deadlineMs: 1000 }), item('normal', 0)];
    const other = item('normal', 1, { model: 'b' });
    for (const i of [soon, later, none, other]) held.add(i);
    const parked: string[] = [];
    const expired: string[] = [];
    const eligible = { eligible: (model: string) => (model === 'a' ? someWorker.eligible() : noWorker.eligible()) };
    held.sweep(150, eligible, (i) => parked.push(i.name), (i) => expired.push(i.name));
    expect(parked).toEqual([other.name]);
    expect(expired).toEqual([]);
    held.sweep(151, eligible, (i) => parked.push(i.name), (i) => expired.push(i.name));
    expect(expired).toEqual([soon.name]);
    expect(order(held)).toEqual([later.name, none.name]);
  });

  it('never expires a job that was bound (removed) before its latest start', () => {
    const held = queue();
    const j = item('normal', 0, { deadlineMs: 200 });
    held.add(j);
    held.removeAt([0]);
    const expired: Item[] = [];
    held.sweep(10_000, someWorker, () => undefined, (i) => expired.push(i));
    expect(expired).toEqual([]);
    expect(held.count).toBe(0);
  });

  it('drains every held job in order', () => {
    const held = queue();
    const items = [item('low', 1), item('normal', 2), item('high', 3, { deadlineMs: 10 })];
    for (const i of items) held.add(i);
    expect(held.drain().map((i) => i.name)).toEqual(expected(items));
    expect(held.count).toBe(0);
    const expired: Item[] = [];
    held.sweep(10_000, someWorker, () => undefined, (i) => expired.push(i));
    expect(expired).toEqual([]);
  });

  it('refuses a capacity below 1', () => {
    expect(() => queue(0)).toThrow(RangeError);
  });
});
