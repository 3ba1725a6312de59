import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { jobAcceptedSchema, jobViewSchema, parseCatalog, type JobAccepted, type JobView } from '@sched/core';
import { useApi } from './use-api.js';

// The API alone: no dispatcher, so a job stays queued until the test cancels it. Jobs that
// finish on their own (completed, failed) are in apps/cluster/test/prefer-wait.test.ts.

const fleet = parseCatalog({ models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }] });
const ctx = useApi(fleet);

function submit(prefer?: string, extra: Record<string, string> = {}, body: unknown = { model: 'default', input: 1 }): Promise<Response> {
  return fetch(`${ctx.cluster.apiUrl}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(prefer === undefined ? {} : { prefer }), ...extra },
    body: JSON.stringify(body),
  });
}

async function timed(request: Promise<Response>): Promise<{ res: Response; ms: number }> {
  const started = performance.now();
  const res = await request;
  return { res, ms: performance.now() - started };
}

/** The newest job's id, once the API has added one after `before` (the listing is newest first). */
async function newestJob(before: string | undefined): Promise<string> {
  for (;;) {
    const { jobs } = (await (await fetch(`${ctx.cluster.apiUrl}/v1/jobs?limit=1`)).json()) as { jobs: JobView[] };
    const id = jobs[0]?.id;
    if (id !== undefined && id !== before) return id;
    await sleep(10);
  }
}

async function currentNewest(): Promise<string | undefined> {
  const { jobs } = (await (await fetch(`${ctx.cluster.apiUrl}/v1/jobs?limit=1`)).json()) as { jobs: JobView[] };
  return jobs[0]?.id;
}

const cancel = (id: string): Promise<Response> => fetch(`${ctx.cluster.apiUrl}/v1/jobs/${id}`, { method: 'DELETE' });

describe('POST /v1/jobs with Prefer', () => {
  it('without Prefer answers 202 at once, with Vary: Prefer and no Preference-Applied', async () => {
    const { res, ms } = await timed(submit());
    expect(res.status).toBe(202);
    expect(ms).toBeLessThan(500);
    expect(res.headers.get('vary')).toBe('Prefer');
    expect(res.headers.get('preference-applied')).toBeNull();
    const accepted = (await res.json()) as JobAccepted;
    expect(res.headers.get('location')).toBe(`/v1/jobs/${accepted.id}`);
  });

  it('with respond-async answers 202 at once and says so', async () => {
    const { res, ms } = await timed(submit('respond-async'));
    expect(res.status).toBe(202);
    expect(ms).toBeLessThan(500);
    expect(res.headers.get('preference-applied')).toBe('respond-async');
    expect(res.headers.get('vary')).toBe('Prefer');
  });

  it('ignores a malformed wait: 202 at once, nothing applied', async () => {
    for (const prefer of ['wait=soon', 'wait=0', 'wait=-3', 'wait=']) {
      const { res, ms } = await timed(submit(prefer));
      expect(res.status, prefer).toBe(202);
      expect(ms, prefer).toBeLessThan(500);
      expect(res.headers.get('preference-applied'), prefer).toBeNull();
    }
  });

  it('answers 202 with the accepted body after the wait when the job has not ended', async () => {
    const { res, ms } = await timed(submit('wait=0.4'));
    expect(res.status).toBe(202);
    expect(ms).toBeGreaterThanOrEqual(390);
    expect(ms).toBeLessThan(1500);
    expect(res.headers.get('preference-applied')).toBe('wait=0.4');
    expect(res.headers.get('vary')).toBe('Prefer');
    const accepted: unknown = await res.json();
    expect(jobAcceptedSchema.parse(accepted)).toEqual(accepted);
    expect(res.headers.get('location')).toBe(`/v1/jobs/${(accepted as JobAccepted).id}`);
  });

  it('with respond-async and a wait, waits and then names both on the 202', async () => {
    const res = await submit('respond-async, wait=0.2');
    expect(res.status).toBe(202);
    expect(res.headers.get('preference-applied')).toBe('respond-async, wait=0.2');
  });

  it('answers 200 with the ended view (here cancelled) as soon as it ends, the wait clamped to 30 s', async () => {
    const before = await currentNewest();
    const answer = timed(submit('wait=100'));
    const id = await newestJob(before);
    await sleep(100);
    expect((await cancel(id)).status).toBe(200);
    const { res, ms } = await answer;
    expect(res.status).toBe(200);
    expect(ms).toBeLessThan(2000);
    expect(res.headers.get('preference-applied')).toBe('wait=30');
    expect(res.headers.get('vary')).toBe('Prefer');
    expect(res.headers.get('content-location')).toBe(`/v1/jobs/${id}`);
    expect(res.headers.get('location')).toBeNull();
    const view: unknown = await res.json();
    expect(view).toMatchObject({ id, status: 'cancelled' });
    expect(jobViewSchema.parse(view)).toEqual(view);
    expect(view).toEqual(await (await fetch(`${ctx.cluster.apiUrl}/v1/jobs/${id}`)).json());
  });

  it('waits on the first job when an Idempotency-Key is replayed', async () => {
    const body = { model: 'default', input: 'replayed' };
    const first = await submit(undefined, { 'idempotency-key': 'prefer-replay' }, body);
    const { id } = (await first.json()) as JobAccepted;
    await cancel(id);
    const { res, ms } = await timed(submit('wait=5', { 'idempotency-key': 'prefer-replay' }, body));
    expect(res.status).toBe(200);
    expect(ms).toBeLessThan(1000);
    expect(await res.json()).toMatchObject({ id, status: 'cancelled' });
  });

  it('lets go of the job when the client leaves during the wait', async () => {
    const { hub } = ctx.cluster.api;
    expect(hub.waiting).toBe(0);
    const controller = new AbortController();
    const leaving = fetch(`${ctx.cluster.apiUrl}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'wait=30' },
      body: JSON.stringify({ model: 'default', input: 'leaving' }),
      signal: controller.signal,
    }).catch((error: unknown) => error);
    await until(() => hub.waiting === 1);
    controller.abort();
    expect(await leaving).toBeInstanceOf(Error);
    await until(() => hub.waiting === 0);
  });

  it('sends Vary: Prefer on a refusal from the handler too', async () => {
    const res = await submit('wait=1', {}, { model: 'no-such-model', input: 1 });
    expect(res.status).toBe(422);
    expect(res.headers.get('vary')).toBe('Prefer');
  });
});

async function until(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}
