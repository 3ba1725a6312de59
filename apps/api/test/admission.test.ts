import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySpace, parseCatalog, type JobBatchResult, type PublishedWaits } from '@sched/core';
import { useApi } from './use-api.js';

// The API alone: no dispatcher, so accepted jobs stay unfinished until a test cancels them.

const KEY_A = 'tenant-a-0123456789';
const KEY_B = 'tenant-b-0123456789';
const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } }, other: { gpu: { p50Ms: 5, p99Ms: 5 } } },
  workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }],
});

type Headers = Record<string, string>;
const auth = (key: string): Headers => ({ authorization: `Bearer ${key}` });

function client(base: () => string) {
  return {
    submit: (key: string, body: unknown = { model: 'default', input: 1 }, headers: Headers = {}): Promise<Response> =>
      fetch(`${base()}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth(key), ...headers }, body: JSON.stringify(body) }),
    get: (key: string, path: string): Promise<Response> => fetch(`${base()}${path}`, { headers: auth(key) }),
    cancel: (key: string, id: string): Promise<Response> => fetch(`${base()}/v1/jobs/${id}`, { method: 'DELETE', headers: auth(key) }),
    batch: (key: string, jobs: unknown[]): Promise<Response> =>
      fetch(`${base()}/v1/jobs/batch`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth(key) }, body: JSON.stringify({ jobs }) }),
  };
}

async function expectProblem(res: Response, status: number, code: string): Promise<{ detail: string }> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = (await res.json()) as { code: string; detail: string };
  expect(body.code).toBe(code);
  return body;
}

describe('per-key request rate (RATE_LIMIT_PER_S)', () => {
  const ctx = useApi(fleet, { env: { API_KEYS: `${KEY_A},${KEY_B}`, RATE_LIMIT_PER_S: '5' } });
  const api = client(() => ctx.cluster.apiUrl);

  it('answers a key over its rate 429 rate_limited with Retry-After and RateLimit headers, and leaves other keys alone', async () => {
    // Start at the beginning of a 1 s window, so the burst falls in one.
    await sleep(1000 - (Date.now() % 1000));
    const answers = await Promise.all(Array.from({ length: 8 }, () => api.get(KEY_A, '/v1/models')));
    const statuses = answers.map((res) => res.status).sort();
    expect(statuses.filter((s) => s === 200).length).toBe(5);
    const refused = answers.find((res) => res.status === 429);
    if (refused === undefined) throw new Error('expected a 429');
    await expectProblem(refused, 429, 'rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('ratelimit-policy')).toMatch(/q=5;\s*w=1/);
    expect(refused.headers.get('ratelimit')).toMatch(/r=0/);
    expect((await api.get(KEY_B, '/v1/models')).status).toBe(200);
    // The next window admits A again.
    await sleep(1100);
    expect((await api.get(KEY_A, '/v1/models')).status).toBe(200);
  });

  it('counts a refused submission in sched_jobs_rejected_total{reason="rate_limited"}', async () => {
    await sleep(1000 - (Date.now() % 1000));
    const answers = await Promise.all(Array.from({ length: 8 }, () => api.submit(KEY_B)));
    expect(answers.filter((res) => res.status === 429).length).toBe(3);
    for (const res of answers) await res.body?.cancel();
    const metrics = await (await fetch(`${ctx.cluster.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/sched_jobs_rejected_total\{reason="rate_limited"[^}]*\} 3/);
  });
});

describe('per-key max jobs in flight (MAX_IN_FLIGHT_PER_KEY)', () => {
  const ctx = useApi(fleet, { env: { API_KEYS: `${KEY_A},${KEY_B}`, MAX_IN_FLIGHT_PER_KEY: '3' } });
  const api = client(() => ctx.cluster.apiUrl);

  it('refuses a job past the limit with 429 too_many_in_flight, counts a replayed key once, and frees a place when a job ends', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await api.submit(KEY_A, { model: 'default', input: i }, { 'idempotency-key': `k${i}` });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    // A replay of an unfinished job's key is that job again: it takes no second place.
    expect((await api.submit(KEY_A, { model: 'default', input: 0 }, { 'idempotency-key': 'k0' })).status).toBe(202);
    // Its key with another body is refused, and must not give back the first job's place.
    await expectProblem(await api.submit(KEY_A, { model: 'default', input: 'other' }, { 'idempotency-key': 'k0' }), 422, 'idempotency_mismatch');
    const refused = await api.submit(KEY_A);
    const problem = await expectProblem(refused, 429, 'too_many_in_flight');
    expect(problem.detail).toMatch(/3 unfinished jobs/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another key has its own places.
    expect((await api.submit(KEY_B)).status).toBe(202);
    // A job that ends (here: cancelled) gives its place back.
    expect((await api.cancel(KEY_A, ids[0] as string)).status).toBe(200);
    await expect.poll(async () => (await api.submit(KEY_A)).status, { timeout: 5000 }).toBe(202);
  });

  it('admits the leading jobs of a batch that fit and refuses the rest, each in its own result', async () => {
    // B has one job in flight (from the test above): two more fit.
    const res = await api.batch(KEY_B, [
      { model: 'default', input: 'a' },
      { model: 'default', input: 'b' },
      { model: 'default', input: 'c' },
      { model: 'default', input: 'd' },
    ]);
    expect(res.status).toBe(200);
    const result = (await res.json()) as JobBatchResult;
    expect(result.results.map((r) => r.status)).toEqual([202, 202, 429, 429]);
    expect(result.results[2]).toMatchObject({ problem: { code: 'too_many_in_flight' } });
  });

  it('finds ends it did not see when the set is full (a job removed behind its back)', async () => {
    const keys = keySpace(ctx.config.KEY_PREFIX);
    const redis = new Redis(ctx.redisUrl);
    try {
      // Three members that name no job (as after a lost status message): the set is full of the dead.
      const owner = keys.inFlight(createHash('sha256').update(KEY_B).digest('hex'));
      expect(await redis.zcard(owner)).toBe(3);
      // A full set is re-checked at most once a second per key (the batch above was refused just now).
      await sleep(1100);
      await redis.del(owner);
      await redis.zadd(owner, 1, 'gone-1', 2, 'gone-2', 3, 'gone-3');
      expect((await api.submit(KEY_B)).status).toBe(202);
      expect(await redis.zcard(owner)).toBe(1);
    } finally {
      redis.disconnect();
    }
  });
});

describe('expected wait per model (MAX_EXPECTED_WAIT_MS)', () => {
  const ctx = useApi(fleet, { env: { MAX_EXPECTED_WAIT_MS: '2000' } });
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(ctx.redisUrl);
  });
  afterAll(() => redis.disconnect());

  const publish = async (waits: PublishedWaits): Promise<void> => {
    await redis.set(keySpace(ctx.config.KEY_PREFIX).expectedWait, JSON.stringify(waits));
    // The API reads it every FLEET_REFRESH_MS (200 ms in tests).
    await sleep(3 * ctx.config.FLEET_REFRESH_MS);
  };
  const submit = (model: string): Promise<Response> =>
    fetch(`${ctx.cluster.apiUrl}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, input: 1 }) });

  it('refuses a job of a model whose wait is over the limit with 429 overloaded and a Retry-After of the time to drain to it', async () => {
    await publish({ at: Date.now(), waitMs: { default: 6500, other: 100 }, perJobMs: { default: 10, other: 10 } });
    const refused = await submit('default');
    const problem = await expectProblem(refused, 429, 'overloaded');
    // 6.5 s when made, drained by the few hundred ms since: about 6 s, 4 s over the 2 s limit.
    const waitS = Number(/would wait about (\d+\.\d) s/.exec(problem.detail)?.[1]);
    expect(waitS).toBeGreaterThan(5);
    expect(waitS).toBeLessThanOrEqual(6.5);
    expect(refused.headers.get('retry-after')).toBe(String(Math.ceil(waitS - 2)));
    expect((await submit('other')).status).toBe(202);
    const metrics = await (await fetch(`${ctx.cluster.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/sched_jobs_rejected_total\{reason="overloaded"[^}]*\} 1/);
  });

  it('carries the estimate forward: the jobs admitted since add their cost, the time since drains it', async () => {
    // 2.5 s when made, 400 ms a job, drained 1 ms per ms since: with d ms since, jobs are admitted while
    // 2500 + 400 × admitted - d <= 2000, so floor((d - 500) / 400) + 1 of them.
    const at = Date.now();
    await publish({ at, waitMs: { default: 2500, other: 0 }, perJobMs: { default: 400, other: 1 } });
    const admittable = (since: number): number => Math.floor((since - 500) / 400) + 1;
    const least = admittable(Date.now() - at);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await submit('default');
      statuses.push(res.status);
      await res.body?.cancel();
    }
    const most = admittable(Date.now() - at);
    const admitted = statuses.filter((status) => status === 202).length;
    expect(admitted).toBeGreaterThanOrEqual(least);
    expect(admitted).toBeLessThanOrEqual(most);
    expect(statuses.slice(0, least)).toEqual(Array.from({ length: least }, () => 202));
    expect(statuses.at(-1)).toBe(429);
  });

  it('admits everything when the estimate is stale (no dispatcher publishing) or absent', async () => {
    await publish({ at: Date.now() - 60_000, waitMs: { default: 999_999, other: 999_999 }, perJobMs: { default: 1, other: 1 } });
    expect((await submit('default')).status).toBe(202);
    await redis.del(keySpace(ctx.config.KEY_PREFIX).expectedWait);
    await sleep(3 * ctx.config.FLEET_REFRESH_MS);
    expect((await submit('default')).status).toBe(202);
  });
});

describe('open watchers per key (MAX_WATCHERS_PER_KEY)', () => {
  const ctx = useApi(fleet, { env: { API_KEYS: `${KEY_A},${KEY_B}`, MAX_WATCHERS_PER_KEY: '2' } });
  const api = client(() => ctx.cluster.apiUrl);

  it('refuses a third long-poll or stream of one key with 429 too_many_watchers, answers Prefer: wait at once, and frees places when they end', async () => {
    const id = ((await (await api.submit(KEY_A)).json()) as { id: string }).id;
    const closers = [new AbortController(), new AbortController()];
    const open = [
      fetch(`${ctx.cluster.apiUrl}/v1/jobs/${id}?wait=20`, { headers: auth(KEY_A), signal: closers[0]?.signal }).catch(() => undefined),
      fetch(`${ctx.cluster.apiUrl}/v1/jobs/${id}/events`, { headers: auth(KEY_A), signal: closers[1]?.signal }).catch(() => undefined),
    ];
    await sleep(300);
    await expectProblem(await api.get(KEY_A, `/v1/jobs/${id}?wait=1`), 429, 'too_many_watchers');
    await expectProblem(await api.get(KEY_A, `/v1/jobs/${id}/events`), 429, 'too_many_watchers');
    // A submission with Prefer: wait is still accepted, answered without the wait.
    const started = Date.now();
    const preferred = await api.submit(KEY_A, { model: 'default', input: 2 }, { prefer: 'wait=5' });
    expect(preferred.status).toBe(202);
    expect(preferred.headers.get('preference-applied')).toBeNull();
    expect(Date.now() - started).toBeLessThan(2000);
    // Plain reads and other keys are not watchers.
    expect((await api.get(KEY_A, `/v1/jobs/${id}`)).status).toBe(200);
    const other = ((await (await api.submit(KEY_B)).json()) as { id: string }).id;
    expect((await api.get(KEY_B, `/v1/jobs/${other}?wait=0.2`)).status).toBe(200);
    for (const closer of closers) closer.abort();
    await Promise.all(open);
    await expect.poll(async () => (await api.get(KEY_A, `/v1/jobs/${id}?wait=0.1`)).status, { timeout: 5000 }).toBe(200);
  });
});
