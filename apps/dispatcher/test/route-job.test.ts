import { DelayedError, UnrecoverableError } from 'bullmq';
import { decodeJobError, seededRng, type JobPayload } from '@sched/core';
import { createSed, greedyGpu, LateBinder, withDeadlineGuard } from '@sched/policies';
import { describe, expect, it } from 'vitest';
import { DecisionTimer } from '../src/decision-timer.js';
import { DispatchClaims, type Claim } from '../src/dispatch-claims.js';
import { JobHolder } from '../src/job-holder.js';
import { LatencySampler } from '../src/latency-sampler.js';
import { ParkedJobs } from '../src/parked-jobs.js';
import { RouteJob, type DispatchStore, type IngressJob } from '../src/route-job.js';
import { CATALOG, fleetView } from './fleet-fixture.js';

const NOW = 1_000_000;
const payload = (extra: Partial<JobPayload> = {}): JobPayload => ({ model: 'm', input: null, priority: 'normal', createdAt: NOW, owner: 'anonymous', ...extra });

/** An ingress job that records where it was moved. */
function ingressJob(id: string, data: JobPayload, attemptsStarted = 1): IngressJob & { delayedUntil?: number } {
  const job: IngressJob & { delayedUntil?: number } = {
    id,
    data,
    attemptsStarted,
    moveToDelayed: (timestamp) => {
      job.delayedUntil = timestamp;
      return Promise.resolve();
    },
  };
  return job;
}

/** The Redis side, in memory: records what routing asked of it. */
class MemoryStore implements DispatchStore {
  readonly log: string[] = [];
  routes = new Map<string, string>();
  finished = new Set<string>();
  failSend = false;
  sendError = new Error('redis down');

  previous(jobId: string): Promise<{ route: string | null; finished: boolean }> {
    return Promise.resolve({ route: this.routes.get(jobId) ?? null, finished: this.finished.has(jobId) });
  }
  send(jobId: string, _payload: JobPayload, claim: Claim): Promise<void> {
    if (this.failSend) return Promise.reject(this.sendError);
    return this.record(`send ${jobId}→${claim.workerId}`);
  }
  reserveWebhook(jobId: string): Promise<void> {
    return this.record(`reserve ${jobId}`);
  }
  releaseWebhook(jobId: string): Promise<void> {
    return this.record(`release ${jobId}`);
  }
  recordCancelled(jobId: string): Promise<void> {
    return this.record(`cancelled ${jobId}`);
  }
  private record(entry: string): Promise<void> {
    this.log.push(entry);
    return Promise.resolve();
  }
}

function setup(options: { lateBinding?: boolean; policy?: 'sed' | 'greedy-gpu'; now?: number } = {}) {
  const fleet = fleetView();
  const store = new MemoryStore();
  const parked = new ParkedJobs(3000);
  const now = (): number => options.now ?? NOW;
  const decisions = new DecisionTimer({ observe: () => undefined }, new LatencySampler());
  const claims = new DispatchClaims({ fleet, metrics: { decisions: { inc: () => undefined } }, policy: 'test', now });
  const policy = options.policy === 'greedy-gpu' ? greedyGpu : createSed();
  const holder = options.lateBinding
    ? new JobHolder({ binder: new LateBinder({ prefetch: 0 }), policy, snapshot: fleet.index, models: CATALOG.models, rng: seededRng(1), capacity: 56, claim: (id, p, w) => claims.claim(id, p, w), decisions, now })
    : null;
  const router = new RouteJob({
    config: { NO_WORKER_TIMEOUT_MS: 5000, PARK_RECHECK_MS: 100 },
    models: CATALOG.models,
    policy: withDeadlineGuard(policy, now),
    snapshot: fleet.index,
    rng: seededRng(1),
    holder,
    // Every job here is `anonymous`: fair sharing has no tag for it.
    fair: { holdTag: () => Promise.resolve(undefined) },
    claims,
    decisions,
    parked,
    store,
    publish: (message) => store.log.push(`publish ${message.id} ${message.status}`),
    logger: { debug: () => undefined, warn: () => undefined },
    now,
  });
  const depth = (workerId: string): number => fleet.index.find(workerId)?.depth ?? -1;
  return { router, store, parked, holder, depth, decisions };
}

/** The code and message a failure carries to the job view. */
async function failure(promise: Promise<unknown>): Promise<{ unrecoverable: boolean; code: string; message: string }> {
  const error = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e as Error,
  );
  const decoded = decodeJobError(error.message);
  return { unrecoverable: error instanceof UnrecoverableError, code: decoded.code, message: decoded.message };
}

describe('RouteJob', () => {
  it('sends a job to the worker the policy picks, counted in the fleet view before the send is out', async () => {
    const { router, store, depth, decisions } = setup();
    expect(await router.dispatch(ingressJob('j', payload()))).toEqual({ worker: 'gpu-0' });
    expect(store.log).toEqual(['send j→gpu-0']);
    expect(depth('gpu-0')).toBe(1);
    expect(decisions.samples.size).toBe(1);
  });

  it('keeps the route a job already had when a dispatcher picks it up again', async () => {
    const { router, store } = setup();
    store.routes.set('j', 'cpu-0');
    expect(await router.dispatch(ingressJob('j', payload(), 2))).toEqual({ worker: 'cpu-0' });
    expect(store.log).toEqual(['send j→cpu-0']);
  });

  it('does not dispatch a job picked up again whose cancel was already recorded', async () => {
    const { router, store } = setup();
    store.finished.add('j');
    expect(await router.dispatch(ingressJob('j', payload(), 2))).toEqual({ finished: true });
    expect(store.log).toEqual([]);
  });

  it('fails deadline_exceeded, without a decision, a job that can no longer start in time; its webhook is reserved first', async () => {
    const { router, store } = setup();
    // 300 ms deadline, submitted 250 ms ago; the fastest class takes 100 ms.
    const result = await failure(router.dispatch(ingressJob('j', payload({ createdAt: NOW - 250, deadlineMs: 300 }))));
    expect(result).toEqual({ unrecoverable: true, code: 'deadline_exceeded', message: 'no worker can finish it within its 300 ms deadline; not run' });
    expect(store.log).toEqual(['reserve j']);
  });

  it('never sends a deadline job to a worker that would miss it when another can make it', async () => {
    const { router } = setup({ policy: 'greedy-gpu' });
    await router.dispatch(ingressJob('first', payload()));
    // greedy-gpu overflows to the idle cpu (1 s); the gpu finishes it in ~200 ms.
    expect(await router.dispatch(ingressJob('urgent', payload({ deadlineMs: 600 })))).toEqual({ worker: 'gpu-0' });
    expect(await router.dispatch(ingressJob('relaxed', payload()))).toEqual({ worker: 'cpu-0' });
  });

  it('parks a job no live worker serves (re-checked after PARK_RECHECK_MS), and fails it no_worker after NO_WORKER_TIMEOUT_MS', async () => {
    const { router, parked } = setup();
    const job = ingressJob('t', payload({ model: 'tiny' }));
    await expect(router.dispatch(job, 'token')).rejects.toBeInstanceOf(DelayedError);
    expect(job.delayedUntil).toBe(NOW + 100);
    expect(parked.models(NOW)).toEqual(['tiny']);
    const late = setup({ now: NOW + 5000 });
    expect(await failure(late.router.dispatch(ingressJob('t', payload({ model: 'tiny' }))))).toEqual({
      unrecoverable: true,
      code: 'no_worker',
      message: 'no live worker serves model "tiny" (waited 5000 ms)',
    });
    expect(late.store.log).toEqual(['reserve t']);
  });

  it('uncounts a job whose worker-queue add failed, and lets BullMQ retry it', async () => {
    const { router, store, depth } = setup();
    store.failSend = true;
    await expect(router.dispatch(ingressJob('j', payload()))).rejects.toThrow('redis down');
    expect(depth('gpu-0')).toBe(0);
  });

  it('puts a job whose send Redis refuses (out of memory) back in ingress, delayed, without using an attempt', async () => {
    const { router, store, depth } = setup();
    store.failSend = true;
    store.sendError = new Error("OOM command not allowed when used memory > 'maxmemory'.");
    const job = ingressJob('j', payload(), 3);
    await expect(router.dispatch(job)).rejects.toBeInstanceOf(DelayedError);
    // The third pick-up waits about 400 ms (100 ms doubled per pick-up, ±20 %).
    expect(job.delayedUntil).toBeGreaterThanOrEqual(NOW + 320);
    expect(job.delayedUntil).toBeLessThanOrEqual(NOW + 480);
    expect(depth('gpu-0')).toBe(0);
  });

  it('late binding: a held job asked to cancel is recorded cancelled and completes the ingress job, never sent', async () => {
    const { router, store, holder } = setup({ lateBinding: true });
    expect(await router.dispatch(ingressJob('first', payload()))).toEqual({ worker: 'gpu-0' });
    const held = router.dispatch(ingressJob('held', payload()));
    await new Promise((r) => setImmediate(r));
    holder?.cancel('held');
    expect(await held).toEqual({ cancelled: true });
    expect(store.log).toEqual(['send first→gpu-0', 'cancelled held']);
  });

  it('late binding: a held job whose lock was lost is retried (a plain error), not failed', async () => {
    const { router, holder } = setup({ lateBinding: true });
    await router.dispatch(ingressJob('first', payload()));
    const held = router.dispatch(ingressJob('held', payload()));
    await new Promise((r) => setImmediate(r));
    holder?.lost(['held']);
    const result = await held.then(
      () => null,
      (e: unknown) => e,
    );
    expect(result).toBeInstanceOf(Error);
    expect(result).not.toBeInstanceOf(UnrecoverableError);
  });

  it('announces a job BullMQ gave up on, and delivers its webhook', async () => {
    const { router, store, parked } = setup();
    parked.park('j', 'tiny', NOW);
    router.failed('j', payload(), new Error('gave up'));
    await new Promise((r) => setImmediate(r));
    expect(store.log).toEqual(['publish j failed', 'release j']);
    expect(parked.models(NOW)).toEqual([]);
  });
});
