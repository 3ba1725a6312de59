import { parseCatalog, seededRng, type Priority } from '@sched/core';
import { describe, expect, it } from 'vitest';
import { DispatchLoop, FleetIndex, LateBinder, createSed, type HeldJob, type Policy } from '../src/index.js';

const catalog = parseCatalog({
  models: { m: { gpu: { p50Ms: 100, p99Ms: 100 }, cpu: { p50Ms: 1000, p99Ms: 1000 } }, rare: { tpu: { p50Ms: 10, p99Ms: 10 } }, slow: { cpu: { p50Ms: 1000, p99Ms: 1000 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 1 },
    { id: 'cpu-0', class: 'cpu', slots: 1 },
  ],
});

interface Job extends HeldJob {
  readonly name: string;
}

/** A dispatch loop over a gpu and a cpu, recording what becomes of each job. */
function setup(options: { lookahead?: number; capacity?: number; policy?: Policy; now?: () => number } = {}) {
  const index = new FleetIndex(
    catalog.workers.map((w) => ({ ...w, models: Object.keys(catalog.models).filter((m) => catalog.models[m]?.[w.class] !== undefined) })),
    { expectedServiceMs: (model, cls) => catalog.models[model]?.[cls]?.p50Ms ?? 1 },
  );
  const log: string[] = [];
  const loop = new DispatchLoop<Job>({
    jobOf: (job) => job,
    models: catalog.models,
    ...(options.capacity === undefined ? {} : { capacity: options.capacity }),
    binder: new LateBinder({ prefetch: 0, ...(options.lookahead === undefined ? {} : { lookahead: options.lookahead }) }),
    policy: options.policy ?? createSed(),
    snapshot: index,
    rng: seededRng(1),
    now: options.now ?? (() => 0),
    outcomes: {
      bind: (job, workerId) => {
        index.dispatched(index.indexOf(workerId), catalog.models[job.model]?.[index.worker(index.indexOf(workerId)).class]?.p50Ms ?? 1);
        log.push(`${job.name}→${workerId}`);
      },
      park: (job) => log.push(`${job.name} parked`),
      expire: (job) => log.push(`${job.name} expired`),
    },
  });
  const free = (workerId: string): void => {
    const position = index.indexOf(workerId);
    index.completed(position, 100);
    loop.round(index.worker(position));
  };
  return { index, loop, log, free };
}

let seq = 0;
const job = (name: string, priority: Priority = 'normal', extra: Partial<Job> = {}): Job => ({ name, model: 'm', priority, createdAt: seq++, ...extra });

describe('DispatchLoop', () => {
  it('binds a job to the free gpu at once, holds the next while the gpu is busy, and binds it when the gpu frees', () => {
    const { loop, log, free } = setup();
    loop.hold(job('first'));
    loop.hold(job('second'));
    expect(log).toEqual(['first→gpu-0']);
    expect(loop.held.count).toBe(1);
    free('gpu-0');
    expect(log).toEqual(['first→gpu-0', 'second→gpu-0']);
    expect(loop.held.count).toBe(0);
  });

  it('binds held jobs in priority order when a worker frees', () => {
    const { loop, log, free } = setup();
    loop.hold(job('running'));
    for (const j of [job('low', 'low'), job('normal'), job('high', 'high')]) loop.hold(j);
    free('gpu-0');
    free('gpu-0');
    free('gpu-0');
    expect(log).toEqual(['running→gpu-0', 'high→gpu-0', 'normal→gpu-0', 'low→gpu-0']);
  });

  it('gives jobs that move into the window a round at once', () => {
    // Lookahead 1: a round looks at the first held job only.
    const { loop, log } = setup({ lookahead: 1 });
    for (const j of [job('x'), job('y', 'normal', { model: 'slow' })]) loop.held.add(j);
    // One call: x takes the gpu; y moves into the window and takes the cpu in a round of its own.
    expect(loop.round()).toBe(2);
    expect(log).toEqual(['x→gpu-0', 'y→cpu-0']);
  });

  it('parks a job of a model no live worker serves', () => {
    const { loop, log } = setup();
    loop.hold(job('r', 'normal', { model: 'rare' }));
    expect(log).toEqual(['r parked']);
    expect(loop.held.count).toBe(0);
  });

  it('expires a held job once its latest start has passed, before the round', () => {
    let now = 0;
    const { loop, log, free } = setup({ now: () => now });
    loop.hold(job('running'));
    // Deadline 300 ms from t=0 on a 100 ms gpu: latest start 200.
    loop.hold({ ...job('urgent'), createdAt: 0, deadlineMs: 300 });
    expect(loop.held.count).toBe(1);
    now = 201;
    free('gpu-0');
    expect(log).toEqual(['running→gpu-0', 'urgent expired']);
  });

  it('binds the overflow of a full queue at once with the deadline-guarded per-job rule', () => {
    const toCpu: Policy = () => 'cpu-0';
    const { loop, log } = setup({ capacity: 1, policy: toCpu });
    loop.hold(job('running'));
    loop.hold(job('held'));
    loop.hold(job('overflow'));
    expect(log).toEqual(['running→gpu-0', 'held→cpu-0']);
    // A job with a deadline the cpu would miss goes to the gpu instead, room or not.
    loop.hold({ ...job('deadline'), deadlineMs: 900 });
    expect(log.slice(2)).toEqual(['overflow→cpu-0']);
    loop.hold(job('next'));
    expect(log.slice(3)).toEqual(['deadline→gpu-0']);
  });

  it('on release, binds every held job at once', () => {
    const { loop, log } = setup();
    for (const name of ['a', 'b', 'c']) loop.hold(job(name));
    loop.release();
    expect(log).toHaveLength(3);
    expect(loop.held.count).toBe(0);
  });

  it('lets go of a job it holds (cancel), and says so only once', () => {
    const { loop } = setup();
    loop.hold(job('running'));
    const held = job('held');
    loop.hold(held);
    expect(loop.take(held)).toBe(true);
    expect(loop.take(held)).toBe(false);
    expect(loop.held.count).toBe(0);
  });
});
