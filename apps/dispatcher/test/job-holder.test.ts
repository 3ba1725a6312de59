import { CANCEL_WAIT_MS, seededRng, type JobPayload, type Priority } from '@sched/core';
import { createSed, LateBinder } from '@sched/policies';
import { describe, expect, it } from 'vitest';
import { DecisionTimer } from '../src/decision-timer.js';
import { JobHolder, type HeldOutcome } from '../src/job-holder.js';
import { LatencySampler } from '../src/latency-sampler.js';
import { CATALOG, fleetView } from './fleet-fixture.js';

let created = 0;
const payload = (extra: Partial<JobPayload> = {}): JobPayload => ({ model: 'm', input: null, priority: 'normal', createdAt: created++, owner: 'anonymous', ...extra });

/** A holder over a gpu and a cpu, on a clock the test moves; `outcomes` records each job's fate. */
function setup(options: { capacity?: number } = {}) {
  const fleet = fleetView();
  let now = 1_000_000;
  const bound: string[] = [];
  const holder = new JobHolder({
    binder: new LateBinder({ prefetch: 0 }),
    policy: createSed(),
    snapshot: fleet.index,
    models: CATALOG.models,
    rng: seededRng(1),
    capacity: options.capacity ?? 56,
    claim: (id, job, workerId) => {
      fleet.onDispatched(id, workerId, CATALOG.models[job.model]?.[workerId.split('-')[0] ?? '']?.p50Ms ?? 1, now, fleet.nextSendSeq());
      bound.push(`${id}→${workerId}`);
      return { workerId, dispatchedAt: now };
    },
    decisions: new DecisionTimer({ observe: () => undefined }, new LatencySampler()),
    now: () => now,
  });
  const outcomes = new Map<string, HeldOutcome>();
  const hold = (id: string, job: JobPayload = payload()): void => {
    void holder.hold(id, job).then((outcome) => outcomes.set(id, outcome));
  };
  const finish = async (id: string, workerId: string): Promise<void> => {
    fleet.onFinished(id, now, true);
    holder.round(workerId);
    await settled();
  };
  return { holder, fleet, bound, outcomes, hold, finish, advance: (ms: number) => (now += ms), at: () => now };
}

const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const busy = async (s: ReturnType<typeof setup>): Promise<void> => {
  s.hold('running');
  await settled();
  expect(s.bound).toEqual(['running→gpu-0']);
};

describe('JobHolder', () => {
  it('holds jobs while the gpu is busy and binds them in priority, then submission, order as it frees', async () => {
    const s = setup();
    await busy(s);
    const jobs: [string, Priority][] = [['low', 'low'], ['normal-1', 'normal'], ['high', 'high'], ['normal-2', 'normal']];
    for (const [id, priority] of jobs) s.hold(id, payload({ priority }));
    await settled();
    expect(s.holder.count).toBe(4);
    for (const id of ['running', 'high', 'normal-1', 'normal-2']) await s.finish(id, 'gpu-0');
    expect(s.bound.slice(1)).toEqual(['high→gpu-0', 'normal-1→gpu-0', 'normal-2→gpu-0', 'low→gpu-0']);
    expect(s.outcomes.get('high')).toEqual({ kind: 'bound', claim: { workerId: 'gpu-0', dispatchedAt: s.at() } });
  });

  it('when full, binds the first held job of the new job’s model at once, room or not', async () => {
    const s = setup({ capacity: 2 });
    await busy(s);
    for (const id of ['a', 'b', 'c']) s.hold(id);
    await settled();
    // `a` goes where sed sends it: behind the running job on the gpu (200 ms beats the cpu's 1 s).
    expect(s.bound.slice(1)).toEqual(['a→gpu-0']);
    expect(s.outcomes.has('b') || s.outcomes.has('c')).toBe(false);
    expect(s.holder.count).toBe(2);
  });

  it('cancels a held job: its hold ends as `cancel` and it is never bound', async () => {
    const s = setup();
    await busy(s);
    s.hold('held');
    s.holder.cancel('held');
    await settled();
    expect(s.outcomes.get('held')).toEqual({ kind: 'cancel' });
    await s.finish('running', 'gpu-0');
    expect(s.bound).toEqual(['running→gpu-0']);
  });

  it(`remembers a cancel request for a job not held yet for CANCEL_WAIT_MS (${CANCEL_WAIT_MS} ms), then forgets it`, async () => {
    const s = setup();
    await busy(s);
    s.holder.cancel('early');
    s.advance(CANCEL_WAIT_MS - 1);
    s.hold('early');
    s.holder.cancel('late');
    s.advance(CANCEL_WAIT_MS + 1);
    s.hold('late');
    await settled();
    expect(s.outcomes.get('early')).toEqual({ kind: 'cancel' });
    expect(s.outcomes.has('late')).toBe(false);
    expect(s.holder.count).toBe(1);
  });

  it('ignores a cancel request for a job it already bound (the API sees it dispatched)', async () => {
    const s = setup();
    await busy(s);
    s.holder.cancel('running');
    expect(s.outcomes.get('running')).toEqual({ kind: 'bound', claim: { workerId: 'gpu-0', dispatchedAt: s.at() } });
  });

  it('lets go of a job whose lock was lost, and of the older hold when the same job is held again', async () => {
    const s = setup();
    await busy(s);
    s.hold('x');
    s.hold('y');
    s.holder.lost(['x']);
    await settled();
    expect(s.outcomes.get('x')).toEqual({ kind: 'lost' });
    let first: HeldOutcome | undefined;
    void s.holder.hold('y', payload()).then((o) => (first = o));
    await settled();
    expect(s.outcomes.get('y')).toEqual({ kind: 'lost' });
    expect(first).toBeUndefined();
    expect(s.holder.count).toBe(1);
  });

  it('expires a held job once it can no longer start in time, and parks one no live worker serves', async () => {
    const s = setup();
    await busy(s);
    // 300 ms from now on a 100 ms gpu: it must start within 200 ms.
    s.hold('deadline', payload({ createdAt: s.at(), deadlineMs: 300 }));
    s.hold('tiny', payload({ model: 'tiny' }));
    await settled();
    expect(s.outcomes.get('tiny')).toEqual({ kind: 'park' });
    s.advance(201);
    s.holder.round();
    await settled();
    expect(s.outcomes.get('deadline')).toEqual({ kind: 'expired' });
  });

  it('on release, binds every held job at once, and any job held after that too', async () => {
    const s = setup();
    await busy(s);
    s.hold('a');
    s.hold('b');
    s.holder.release();
    s.hold('c');
    await settled();
    expect(s.holder.count).toBe(0);
    for (const id of ['a', 'b', 'c']) expect(s.outcomes.get(id)?.kind).toBe('bound');
  });
});
