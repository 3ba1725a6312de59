import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { INGRESS_QUEUE, apiKeyDigest, keySpace, parseCatalog, workerQueueName, type JobAccepted, type JobView } from '@sched/core';
import { untilStatus } from '@sched/testkit';
import { useTestCluster } from '@sched/testkit/fixtures';
import { startLocalCluster } from '../src/index.js';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 5, p99Ms: 10 } }, slow: { slow: { p50Ms: 4000, p99Ms: 4000 } }, rare: { tpu: { p50Ms: 5, p99Ms: 5 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 2, costPerHour: 2 },
    { id: 'slow-0', class: 'slow', slots: 1 },
    { id: 'tpu-0', class: 'tpu', slots: 1 },
  ],
});

const KEY_A = 'tenant-a-0123456789';
const KEY_B = 'tenant-b-0123456789';
const ADMIN = 'the-admin-0123456789';
const ctx = useTestCluster((config) => startLocalCluster(config, { fleet }), {
  // No tpu worker runs: a job of `rare` waits, parked.
  env: { API_KEYS: `${KEY_A},${KEY_B}`, ADMIN_API_KEYS: ADMIN, WORKER_IDS: 'gpu-0,slow-0' },
  client: { apiKey: KEY_A },
});
let redis: Redis;
beforeAll(() => {
  redis = new Redis(ctx.redisUrl);
});
afterAll(() => redis.disconnect());

function call(method: string, path: string, key: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${ctx.cluster.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}
async function submitAndWait(key: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<JobView> {
  const res = await call('POST', '/v1/jobs', key, { model: 'default', ...body }, { prefer: 'wait=10', ...headers });
  expect(res.status).toBe(200);
  return (await res.json()) as JobView;
}
async function problemCode(res: Response): Promise<string> {
  return ((await res.json()) as { code: string }).code;
}

describe('POST /v1/jobs/:id/retry', () => {
  it('submits a failed job again as a new job linked to it, once, for its owner only', async () => {
    // A deadline no job can meet: it fails without running.
    const failed = await submitAndWait(KEY_A, { input: { n: 1 }, deadlineMs: 1, metadata: { batch: 'nightly' } });
    expect(failed.status).toBe('failed');
    const other = await call('POST', `/v1/jobs/${failed.id}/retry`, KEY_B);
    expect(other.status).toBe(404);
    expect(await problemCode(other)).toBe('job_not_found');

    const retried = await call('POST', `/v1/jobs/${failed.id}/retry`, KEY_A);
    expect(retried.status).toBe(202);
    const accepted = (await retried.json()) as JobAccepted;
    expect(retried.headers.get('location')).toBe(`/v1/jobs/${accepted.id}`);
    const view = (await (await call('GET', `/v1/jobs/${accepted.id}`, KEY_A)).json()) as JobView;
    expect(view).toMatchObject({ retryOf: failed.id, model: 'default', metadata: { batch: 'nightly' }, deadlineMs: 1 });

    // Again (a client retrying its call): the same retry, no second job.
    const again = await call('POST', `/v1/jobs/${failed.id}/retry`, KEY_A);
    expect(again.status).toBe(200);
    expect(((await again.json()) as JobView).id).toBe(accepted.id);
    // An admin's retry of it is the same job too, still A's.
    expect(((await (await call('POST', `/v1/jobs/${failed.id}/retry`, ADMIN)).json()) as JobView).id).toBe(accepted.id);
    expect((await call('GET', `/v1/jobs/${accepted.id}`, KEY_B)).status).toBe(404);
  });

  it('refuses a job that did not fail (409)', async () => {
    const completed = await submitAndWait(KEY_A, { input: 1 });
    expect(completed.status).toBe('completed');
    const res = await call('POST', `/v1/jobs/${completed.id}/retry`, KEY_A);
    expect(res.status).toBe(409);
    expect(await problemCode(res)).toBe('job_not_retryable');
  });
});

describe('DELETE /v1/jobs/:id?purge=true', () => {
  it("deletes a finished job's data before its retention ends: queue jobs, records, listing entries, its Idempotency-Key", async () => {
    const keys = keySpace(ctx.config.KEY_PREFIX);
    const done = await submitAndWait(KEY_A, { input: { secret: 'purge me' } }, { 'idempotency-key': 'purge-key' });
    expect(done.status).toBe('completed');
    const worker = done.worker?.id ?? '';
    expect(await redis.keys(`*${done.id}*`)).not.toEqual([]);

    const notHers = await call('DELETE', `/v1/jobs/${done.id}?purge=true`, KEY_B);
    expect(notHers.status).toBe(404);
    expect((await call('GET', `/v1/jobs/${done.id}`, KEY_A)).status).toBe(200);

    const purged = await call('DELETE', `/v1/jobs/${done.id}?purge=true`, KEY_A);
    expect(purged.status).toBe(204);
    expect((await call('GET', `/v1/jobs/${done.id}`, KEY_A)).status).toBe(404);
    expect(await redis.keys(`*${done.id}*`)).toEqual([]);
    for (const set of [keys.queueKey(workerQueueName(worker), 'completed'), keys.queueKey(INGRESS_QUEUE, 'completed')]) {
      expect(await redis.zscore(set, done.id), set).toBeNull();
    }
    const owner = apiKeyDigest(KEY_A);
    for (const index of [keys.jobIndex, keys.jobIndexByModel('default'), keys.jobIndexByOwner(owner), keys.jobIndexByOwnerModel(owner, 'default')]) {
      expect(await redis.zscore(index, done.id), index).toBeNull();
    }
    const listed = (await (await call('GET', '/v1/jobs?limit=100', KEY_A)).json()) as { jobs: JobView[] };
    expect(listed.jobs.map((job) => job.id)).not.toContain(done.id);
    // The key's record went with it: the key now makes a new job, whatever its body.
    const fresh = await call('POST', '/v1/jobs', KEY_A, { model: 'default', input: 'another body' }, { 'idempotency-key': 'purge-key' });
    expect(fresh.status).toBe(202);
  });

  it('cancels a job that has not started before purging it, and refuses a running one like a cancel (409)', async () => {
    const parked = (await (await call('POST', '/v1/jobs', KEY_A, { model: 'rare', input: 1 })).json()) as JobAccepted;
    expect((await call('DELETE', `/v1/jobs/${parked.id}?purge=true`, KEY_A)).status).toBe(204);
    expect((await call('GET', `/v1/jobs/${parked.id}`, KEY_A)).status).toBe(404);
    expect(await redis.keys(`*${parked.id}*`)).toEqual([]);

    const slow = (await (await call('POST', '/v1/jobs', KEY_A, { model: 'slow', input: 1 })).json()) as JobAccepted;
    await untilStatus(ctx.client, slow.id, 'running');
    const running = await call('DELETE', `/v1/jobs/${slow.id}?purge=true`, KEY_A);
    expect(running.status).toBe(409);
    expect(await problemCode(running)).toBe('job_not_cancellable');
    expect((await ctx.client.wait(slow.id, { timeoutS: 10 })).status).toBe('completed');
  });
});

describe('GET /v1/usage', () => {
  interface Usage {
    tenant: string;
    jobs: { submitted: number; completed: number; failed: number; cancelled: number };
    serviceSeconds: number;
    cost: number;
  }
  const usage = async (key: string): Promise<Usage[]> => {
    const res = await call('GET', '/v1/usage', key);
    expect(res.status).toBe(200);
    return ((await res.json()) as { tenants: Usage[] }).tenants;
  };

  it("counts a key's jobs by outcome, their service time and its cost, for that key alone (an admin: every key)", async () => {
    for (let i = 0; i < 2; i++) expect((await submitAndWait(KEY_B, { input: i })).status).toBe('completed');
    const parked = (await (await call('POST', '/v1/jobs', KEY_B, { model: 'rare', input: 1 })).json()) as JobAccepted;
    expect((await call('DELETE', `/v1/jobs/${parked.id}`, KEY_B)).status).toBe(200);
    // The worker counts after it reports the end: a moment later than the answer.
    await expect.poll(async () => (await usage(KEY_B))[0]?.jobs, { timeout: 5000 }).toEqual({ submitted: 3, completed: 2, failed: 0, cancelled: 1 });
    const [b] = await usage(KEY_B);
    expect(b?.tenant).toBe('key-2');
    expect(b?.serviceSeconds).toBeGreaterThan(0);
    // Both ran on gpu-0, at 2 per hour.
    expect(b?.cost).toBeCloseTo(((b?.serviceSeconds ?? 0) / 3600) * 2, 5);
    expect((await usage(KEY_A)).map((u) => u.tenant)).toEqual(['key-1']);
    const all = await usage(ADMIN);
    expect(all.map((u) => u.tenant)).toEqual(['key-1', 'key-2', 'admin-1', 'anonymous']);
    expect(all[1]?.jobs).toEqual(b?.jobs);
  });
});
