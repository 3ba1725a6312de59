import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog, type JobView } from '@sched/core';
import { RedisCommandStats, diffCommandStats } from '@sched/testkit';
import { useApi } from './use-api.js';

// The API alone: no dispatcher, so a job stays queued until the test cancels it.

const fleet = parseCatalog({ models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }] });
const ctx = useApi(fleet);
let stats: RedisCommandStats;
beforeAll(async () => {
  stats = await RedisCommandStats.connect(ctx.redisUrl);
});
afterAll(() => stats.close());

const url = (path: string): string => `${ctx.cluster.apiUrl}${path}`;
async function submit(body: Record<string, unknown> = { model: 'default', input: 1 }): Promise<string> {
  const res = await fetch(url('/v1/jobs'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

/** Starts a long-poll on `id`, lets it settle, and counts the Redis commands issued while it waits. */
async function commandsWhileWaiting(id: string): Promise<{ counts: Record<string, number>; answer: Promise<JobView> }> {
  const before = await stats.snapshot();
  const answer = fetch(url(`/v1/jobs/${id}?wait=10`)).then(async (res) => (await res.json()) as JobView);
  await sleep(300);
  return { counts: diffCommandStats(before, await stats.snapshot()), answer };
}

describe('a long-poll on a job this API process accepted', () => {
  it('does not read the job while it has not ended, then reads it once when it ends', async () => {
    const id = await submit();
    expect(ctx.cluster.api.hub.acceptedState(id)).toMatchObject({ status: 'queued', model: 'default', owner: 'anonymous' });
    const { counts, answer } = await commandsWhileWaiting(id);
    expect(counts.multi ?? 0).toBe(0);
    expect(counts.hgetall ?? 0).toBe(0);
    expect(await (await fetch(url(`/v1/jobs/${id}`), { method: 'DELETE' })).json()).toMatchObject({ status: 'cancelled' });
    expect(await answer).toMatchObject({ id, status: 'cancelled' });
    // Its end was seen: from now on a long-poll reads it (and answers at once).
    expect(ctx.cluster.api.hub.acceptedState(id)).toBeUndefined();
    const again = (await (await fetch(url(`/v1/jobs/${id}?wait=10`))).json()) as JobView;
    expect(again.status).toBe('cancelled');
  });

  it('reads first a job it did not accept itself (an unknown id here: 404 at once)', async () => {
    const { counts, answer } = await commandsWhileWaiting('0b0e5f2a-8d8c-4c57-9d1e-5f3b1f7c2a11');
    expect(counts.multi ?? 0).toBe(1);
    expect(await answer).toMatchObject({ code: 'job_not_found' });
  });

  it('remembers a job with a deadline with it, so the wait still re-reads it for the deadline', async () => {
    const id = await submit({ model: 'default', input: 2, deadlineMs: 200 });
    expect(ctx.cluster.api.hub.acceptedState(id)).toMatchObject({ status: 'queued', deadlineMs: 200, model: 'default', owner: 'anonymous' });
    // No dispatcher: the job cannot start in time, and the long-poll says so once the deadline passes.
    const view = (await (await fetch(url(`/v1/jobs/${id}?wait=5`))).json()) as JobView;
    expect(view).toMatchObject({ status: 'failed', error: { code: 'deadline_exceeded' } });
  });
});
