import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseCatalog, type JobAccepted, type JobBatchResult, type JobView } from '@sched/core';
import { useApi } from './use-api.js';

const KEY_A = 'tenant-a-0123456789';
const KEY_B = 'tenant-b-0123456789';
const ADMIN = 'the-admin-0123456789';
const fleet = parseCatalog({ models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }] });

interface Problem {
  status: number;
  code: string;
  detail: string;
}

/** No dispatcher: jobs stay queued, so they can be read, followed and cancelled at leisure. */
describe('tenants with API keys', () => {
  const ctx = useApi(fleet, { env: { API_KEYS: `${KEY_A},${KEY_B}`, ADMIN_API_KEYS: ADMIN } });
  const call = (method: string, path: string, key: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${ctx.cluster.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const submit = async (key: string, headers: Record<string, string> = {}): Promise<string> => {
    const res = await call('POST', '/v1/jobs', key, { model: 'default', input: 'private' }, headers);
    expect(res.status).toBe(202);
    return ((await res.json()) as JobAccepted).id;
  };
  /** The answer to another tenant's job must be the answer to an id no one made, but for the id. */
  const expectNotFound = async (res: Response, id: string, what: string): Promise<void> => {
    expect(res.status, what).toBe(404);
    expect(res.headers.get('content-type'), what).toMatch(/^application\/problem\+json/);
    const problem = (await res.json()) as Problem;
    expect({ ...problem, detail: problem.detail.replace(id, '<id>'), instance: undefined }, what).toEqual({
      type: 'urn:sched:problem:job_not_found',
      title: 'No such job',
      status: 404,
      code: 'job_not_found',
      detail: 'no job <id>',
      instance: undefined,
    });
  };

  it("answers another key's job on every route exactly as an unknown id (404), and leaves it alone", async () => {
    const mine = await submit(KEY_A);
    for (const id of [mine, randomUUID()]) {
      await expectNotFound(await call('GET', `/v1/jobs/${id}`, KEY_B), id, `GET ${id}`);
      // A job this process accepted is not read before it ends, but not for someone else: no wait reveals it exists.
      const started = Date.now();
      await expectNotFound(await call('GET', `/v1/jobs/${id}?wait=3`, KEY_B), id, `GET ?wait ${id}`);
      expect(Date.now() - started).toBeLessThan(2000);
      await expectNotFound(await call('GET', `/v1/jobs/${id}/events`, KEY_B), id, `events ${id}`);
      await expectNotFound(await call('DELETE', `/v1/jobs/${id}`, KEY_B), id, `DELETE ${id}`);
      const waited = await call('POST', '/v1/jobs/wait', KEY_B, { ids: [id], timeoutS: 1 });
      expect(await waited.json()).toEqual({ done: true, jobs: [], pending: [], unknown: [id] });
    }
    const listed = (await (await call('GET', '/v1/jobs?limit=100', KEY_B)).json()) as { jobs: JobView[] };
    expect(listed.jobs.map((job) => job.id)).not.toContain(mine);
    // B's DELETE did nothing: A's job is still queued, and A sees it.
    const own = await call('GET', `/v1/jobs/${mine}`, KEY_A);
    expect(own.status).toBe(200);
    expect(((await own.json()) as JobView).status).toBe('queued');
    const ownList = (await (await call('GET', '/v1/jobs?limit=100', KEY_A)).json()) as { jobs: JobView[] };
    expect(ownList.jobs.map((job) => job.id)).toContain(mine);
  });

  it("gives B its own job for A's Idempotency-Key, on a single submit and in a batch", async () => {
    const a = await submit(KEY_A, { 'idempotency-key': 'shared-key' });
    const b = await submit(KEY_B, { 'idempotency-key': 'shared-key' });
    expect(b).not.toBe(a);
    expect(await submit(KEY_B, { 'idempotency-key': 'shared-key' })).toBe(b);
    expect((await call('GET', `/v1/jobs/${b}`, KEY_B)).status).toBe(200);
    await expectNotFound(await call('GET', `/v1/jobs/${a}`, KEY_B), a, 'replayed');
    const batch = async (key: string): Promise<string> => {
      const res = await call('POST', '/v1/jobs/batch', key, { jobs: [{ model: 'default', input: 1 }] }, { 'idempotency-key': 'shared-batch' });
      const [first] = ((await res.json()) as JobBatchResult).results;
      if (first === undefined || !('job' in first)) throw new Error('expected an accepted job');
      return first.job.id;
    };
    const batchA = await batch(KEY_A);
    const batchB = await batch(KEY_B);
    expect(batchB).not.toBe(batchA);
    expect(await batch(KEY_B)).toBe(batchB);
    await expectNotFound(await call('GET', `/v1/jobs/${batchA}`, KEY_B), batchA, 'batch replay');
  });

  it("lets an admin see, list and cancel any tenant's job, which stays its owner's", async () => {
    const mine = await submit(KEY_A);
    expect((await call('GET', `/v1/jobs/${mine}`, ADMIN)).status).toBe(200);
    const listed = (await (await call('GET', '/v1/jobs?limit=100', ADMIN)).json()) as { jobs: JobView[] };
    expect(listed.jobs.map((job) => job.id)).toContain(mine);
    const cancelled = await call('DELETE', `/v1/jobs/${mine}`, ADMIN);
    expect(cancelled.status).toBe(200);
    // The terminal record keeps the owner: A still sees its job, B still does not.
    const own = await call('GET', `/v1/jobs/${mine}`, KEY_A);
    expect(((await own.json()) as JobView).status).toBe('cancelled');
    await expectNotFound(await call('GET', `/v1/jobs/${mine}`, KEY_B), mine, 'cancelled');
  });
});

describe('tenants with API keys: the per-tenant metric', () => {
  const ctx = useApi(fleet, { env: { API_KEYS: `${KEY_A},${KEY_B}`, ADMIN_API_KEYS: ADMIN } });

  it('counts accepted jobs per key name (a replayed key not again), every key at 0 from the start', async () => {
    const post = (key: string, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(`${ctx.cluster.apiUrl}/v1/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ model: 'default', input: 1 }),
      });
    const sends: Record<string, string>[] = [{}, { 'idempotency-key': 'k' }, { 'idempotency-key': 'k' }];
    for (const headers of sends) expect((await post(KEY_A, headers)).status).toBe(202);
    const metrics = await (await fetch(`${ctx.cluster.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/^sched_tenant_jobs_submitted_total\{tenant="key-1",app="api"\} 2$/m);
    expect(metrics).toMatch(/^sched_tenant_jobs_submitted_total\{tenant="key-2",app="api"\} 0$/m);
    expect(metrics).toMatch(/^sched_tenant_jobs_submitted_total\{tenant="admin-1",app="api"\} 0$/m);
    expect(metrics).not.toContain(KEY_A);
  });
});

describe('tenants without API keys', () => {
  const ctx = useApi(fleet);

  it('makes every caller the anonymous tenant, which sees and lists its jobs', async () => {
    const { id } = await ctx.client.submit({ model: 'default', input: 1 });
    expect((await ctx.client.get(id)).status).toBe('queued');
    const listed = (await (await fetch(`${ctx.cluster.apiUrl}/v1/jobs`)).json()) as { jobs: JobView[] };
    expect(listed.jobs.map((job) => job.id)).toEqual([id]);
  });
});
