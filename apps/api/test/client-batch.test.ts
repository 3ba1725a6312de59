import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ApiError } from '@sched/client';
import { parseCatalog } from '@sched/core';
import { useApi } from './use-api.js';

// @sched/client's batch calls against the real API (no dispatcher: jobs end when the test cancels them).

const fleet = parseCatalog({ models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }] });
const ctx = useApi(fleet);
const cancel = (id: string): Promise<Response> => fetch(`${ctx.cluster.apiUrl}/v1/jobs/${id}`, { method: 'DELETE' });

describe('client batch calls', () => {
  it('submitBatch answers per job; a refused envelope throws an ApiError', async () => {
    const result = await ctx.client.submitBatch([{ model: 'default', input: 1 }, { model: 'nope', input: 2 }], { idempotencyKey: 'client-batch' });
    expect(result).toMatchObject({ accepted: 1, refused: 1, results: [{ status: 202 }, { status: 422, problem: { code: 'unknown_model' } }] });
    const again = await ctx.client.submitBatch([{ model: 'default', input: 1 }, { model: 'nope', input: 2 }], { idempotencyKey: 'client-batch' });
    expect(again.results[0]).toEqual(result.results[0]);
    await expect(ctx.client.submitBatch([])).rejects.toThrow(TypeError);
    const tooBig = ctx.client.submitBatch([{ model: 'default', input: 'z'.repeat(ctx.config.MAX_BATCH_BODY_BYTES) }]);
    await expect(tooBig).rejects.toMatchObject({ code: 'payload_too_large', status: 413 });
    await expect(tooBig).rejects.toBeInstanceOf(ApiError);
  });

  it('waitMany loops until every job has ended, across more than one request', async () => {
    const { results } = await ctx.client.submitBatch([{ model: 'default', input: 1 }, { model: 'default', input: 2 }]);
    const ids = results.flatMap((r) => ('job' in r ? [r.job.id] : []));
    const waiting = ctx.client.waitMany(ids, { pollS: 0.3, timeoutS: 10 });
    await sleep(500);
    await cancel(ids[0] ?? '');
    await sleep(500);
    await cancel(ids[1] ?? '');
    const waited = await waiting;
    expect(waited).toMatchObject({ done: true, pending: [], unknown: [] });
    expect(waited.jobs.map((v) => [v.id, v.status])).toEqual(ids.map((id) => [id, 'cancelled']));
  });

  it('waitMany returns at its overall timeout with the pending jobs listed, and tells unknown ids', async () => {
    const { results } = await ctx.client.submitBatch([{ model: 'default', input: 3 }]);
    const ids = results.flatMap((r) => ('job' in r ? [r.job.id] : []));
    const unknown = '00000000-0000-4000-8000-000000000001';
    const started = performance.now();
    const waited = await ctx.client.waitMany([...ids, unknown], { timeoutS: 0.6, pollS: 0.25 });
    expect(performance.now() - started).toBeGreaterThan(550);
    expect(waited).toMatchObject({ done: false, pending: ids, unknown: [unknown] });
    expect(waited.jobs.map((v) => v.status)).toEqual(['queued']);
  });

  it('submitBatchAndWait gives each request its last view or its refusal, in order', async () => {
    const answer = ctx.client.submitBatchAndWait([{ model: 'default', input: 'w1' }, { model: 'default', input: 'w2', priority: 'bogus' as 'high' }], { timeoutS: 10 });
    let id: string | undefined;
    while (id === undefined) {
      const { jobs } = (await (await fetch(`${ctx.cluster.apiUrl}/v1/jobs?limit=1`)).json()) as { jobs: { id: string; status: string }[] };
      if (jobs[0]?.status === 'queued') id = jobs[0].id;
      else await sleep(10);
    }
    await cancel(id);
    const outcome = await answer;
    expect(outcome.done).toBe(true);
    expect(outcome.jobs[0]).toMatchObject({ ok: true, job: { id, status: 'cancelled' } });
    expect(outcome.jobs[1]).toMatchObject({ ok: false, status: 400, problem: { code: 'validation_failed', errors: [{ path: 'priority' }] } });
  });
});
