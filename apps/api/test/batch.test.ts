import { once } from 'node:events';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  MAX_BATCH_JOBS,
  jobBatchResultSchema,
  jobWaitResultSchema,
  keySpace,
  parseCatalog,
  type JobBatchResult,
  type JobRequest,
  type JobWaitResult,
} from '@sched/core';
import { RedisErrorLog, closeRedis, createLogger, createRedis } from '@sched/runtime';
import { JobGateway, idempotentJobId } from '../src/job-gateway.js';
import { useApi } from './use-api.js';

// The API alone: no dispatcher, so jobs stay queued until a test cancels them (the way a job ends here).

const fleet = parseCatalog({ models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }] });
const ctx = useApi(fleet);

const json = { 'content-type': 'application/json' };
const job = (input: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ model: 'default', input, ...extra });

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${ctx.cluster.apiUrl}${path}`, { method: 'POST', headers: { ...json, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

async function batch(jobs: unknown[], headers: Record<string, string> = {}): Promise<{ res: Response; body: JobBatchResult }> {
  const res = await post('/v1/jobs/batch', { jobs }, headers);
  expect(res.status).toBe(200);
  const body: unknown = await res.json();
  expect(jobBatchResultSchema.parse(body)).toEqual(body);
  return { res, body: body as JobBatchResult };
}

const acceptedIds = (result: JobBatchResult): string[] => result.results.flatMap((item) => ('job' in item ? [item.job.id] : []));
const cancel = (id: string): Promise<Response> => fetch(`${ctx.cluster.apiUrl}/v1/jobs/${id}`, { method: 'DELETE' });

/** Redis's per-command call counts (INFO commandstats). */
async function commandCounts(): Promise<Map<string, number>> {
  const redis = createRedis(ctx.redisUrl, 'service');
  const text = await redis.info('commandstats');
  redis.disconnect();
  return new Map([...text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1] ?? '', Number(m[2])]));
}

async function ingressJobs(): Promise<number> {
  const redis = createRedis(ctx.redisUrl, 'service');
  const keys = keySpace(ctx.config.KEY_PREFIX);
  const count = (await redis.zcard(keys.queueKey('ingress', 'prioritized'))) + (await redis.llen(keys.queueKey('ingress', 'wait')));
  redis.disconnect();
  return count;
}

describe('POST /v1/jobs/batch', () => {
  it('answers every item in order: accepted jobs next to the refusals the single route would give', async () => {
    const items = [
      job(1),
      { model: 'default' },
      job(3, { priority: 'urgent' }),
      { model: 'no-such-model', input: 4 },
      job(5, { webhook: { url: 'http://169.254.169.254/latest' } }),
      job(6, { priority: 'high', deadlineMs: 60_000 }),
      7,
    ];
    const { body } = await batch(items);
    expect(body.accepted).toBe(2);
    expect(body.refused).toBe(5);
    expect(body.results.map((r) => r.status)).toEqual([202, 400, 400, 422, 422, 202, 400]);
    for (const [i, item] of items.entries()) {
      const result = body.results[i];
      if (result === undefined || !('problem' in result)) continue;
      // A body that is not an object is refused by the JSON parser of POST /v1/jobs (invalid_json); as an item it is a schema mismatch.
      if (typeof item !== 'object') {
        expect(result.problem).toMatchObject({ code: 'validation_failed', errors: [{ path: '(root)' }] });
        continue;
      }
      // The same code, title and field errors as POST /v1/jobs with this item alone (no `instance`: it is not a request).
      const single = await post('/v1/jobs', item);
      const { instance: _instance, ...problem } = (await single.json()) as Record<string, unknown>;
      expect(result.status, `item ${i}`).toBe(single.status);
      expect(result.problem, `item ${i}`).toEqual(problem);
    }
    const [first, , , , , sixth] = body.results;
    expect(first).toMatchObject({ status: 202, job: { status: 'queued', model: 'default' } });
    const view = (await (await fetch(`${ctx.cluster.apiUrl}/v1/jobs/${acceptedIds(body)[1]}`)).json()) as { priority: string; deadlineMs: number };
    expect(view).toMatchObject({ priority: 'high', deadlineMs: 60_000 });
    expect(sixth).toMatchObject({ status: 202 });
  });

  it('adds 1,000 jobs with one add script call each and one index write per index key (a count)', async () => {
    const callsDuring = async (jobs: number): Promise<{ body: JobBatchResult; calls: (name: string) => number }> => {
      const before = await commandCounts();
      const { body } = await batch(Array.from({ length: jobs }, (_, i) => job(i)));
      const after = await commandCounts();
      return { body, calls: (name) => (after.get(name) ?? 0) - (before.get(name) ?? 0) };
    };
    const one = await callsDuring(1);
    const { body, calls } = await callsDuring(MAX_BATCH_JOBS);
    expect(body.accepted).toBe(MAX_BATCH_JOBS);
    expect(new Set(acceptedIds(body)).size).toBe(MAX_BATCH_JOBS);
    expect(calls('evalsha') + calls('eval')).toBe(MAX_BATCH_JOBS);
    // The listing index: one ZADD for all the jobs, one for the model's, one for the owner's and one
    // for the owner's and model's, each trimmed at most once (trims are rate-limited per process: see
    // the gateway's test below).
    // (BullMQ's add script makes its own ZADDs per job: a one-job batch shows how many.)
    const scriptZadds = one.calls('zadd') - 4;
    expect(calls('zadd') - MAX_BATCH_JOBS * scriptZadds).toBe(4);
    expect(calls('zremrangebyscore')).toBeLessThanOrEqual(4);
    // No idempotency key: no SET NX GET at all.
    expect(calls('set')).toBe(0);
  });

  it('refuses a malformed envelope as a whole, with problem+json', async () => {
    const cases: [body: unknown, status: number, code: string][] = [
      ['[1, 2]', 400, 'validation_failed'],
      [{ jobs: job(1) }, 400, 'validation_failed'],
      [{ jobs: [] }, 400, 'validation_failed'],
      [{ jobs: Array.from({ length: MAX_BATCH_JOBS + 1 }, (_, i) => job(i)) }, 400, 'validation_failed'],
      [{ jobs: [job(1)], extra: true }, 400, 'validation_failed'],
      ['{"jobs": [', 400, 'invalid_json'],
      [{ jobs: [job('x'.repeat(ctx.config.MAX_BATCH_BODY_BYTES))] }, 413, 'payload_too_large'],
    ];
    for (const [body, status, code] of cases) {
      const res = await post('/v1/jobs/batch', body);
      const label = JSON.stringify(body).slice(0, 60);
      expect(res.status, label).toBe(status);
      expect(res.headers.get('content-type'), label).toMatch(/^application\/problem\+json/);
      expect(((await res.json()) as { code: string }).code, label).toBe(code);
    }
    const wrongType = await fetch(`${ctx.cluster.apiUrl}/v1/jobs/batch`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(wrongType.status).toBe(415);
  });

  it('takes a body larger than the single route does', async () => {
    // ~1.5 MiB: over MAX_BODY_BYTES (1 MiB), under MAX_BATCH_BODY_BYTES.
    const big = Array.from({ length: 150 }, (_, i) => job('y'.repeat(10_000), { metadata: { i } }));
    expect(JSON.stringify({ jobs: big }).length).toBeGreaterThan(ctx.config.MAX_BODY_BYTES);
    const { body } = await batch(big);
    expect(body.accepted).toBe(150);
  });

  it('with an Idempotency-Key: a replay answers each item as the first time, a changed item alone gets 422', async () => {
    const items = [job('a'), job('b'), job('c')];
    const first = await batch(items, { 'idempotency-key': 'batch-1' });
    const jobsBefore = await ingressJobs();
    const replay = await batch(items, { 'idempotency-key': 'batch-1' });
    expect(replay.body).toEqual(first.body);
    expect(await ingressJobs()).toBe(jobsBefore);

    const changed = await batch([job('a'), job('B'), job('c'), job('d')], { 'idempotency-key': 'batch-1' });
    expect(changed.body.results.map((r) => r.status)).toEqual([202, 422, 202, 202]);
    expect(changed.body.results[1]).toMatchObject({ problem: { code: 'idempotency_mismatch', errors: [{ path: 'Idempotency-Key' }] } });
    expect(changed.body.results[0]).toEqual(first.body.results[0]);
    expect(changed.body.results[2]).toEqual(first.body.results[2]);
    // The new fourth item is a new job; ids are v5, and not those of the single route's key.
    expect(await ingressJobs()).toBe(jobsBefore + 1);
    const single = (await (await post('/v1/jobs', items[0], { 'idempotency-key': 'batch-1' })).json()) as { id: string };
    expect(acceptedIds(first.body)).not.toContain(single.id);
    expect(acceptedIds(first.body)[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-/);
  });

  it('with Prefer: wait, answers when every job has ended, each ended job with its view', async () => {
    const since = Date.now();
    const answer = post('/v1/jobs/batch', { jobs: [job(1), job(2), { model: 'nope', input: 3 }] }, { prefer: 'wait=10' });
    // The listing is newest first: the two jobs appear once added.
    const ids = await newestJobs(2, since);
    await Promise.all(ids.map(cancel));
    const res = await answer;
    expect(res.status).toBe(200);
    expect(res.headers.get('preference-applied')).toBe('wait=10');
    expect(res.headers.get('vary')).toBe('Prefer');
    const body = (await res.json()) as JobBatchResult;
    expect(body.results.map((r) => r.status)).toEqual([200, 200, 422]);
    expect(body.results[0]).toMatchObject({ job: { status: 'cancelled' } });
    expect(new Set(acceptedIds(body))).toEqual(new Set(ids));
  });

  it('with Prefer: wait, answers at the wait with the ended jobs as views and the others as accepted', async () => {
    const since = Date.now();
    const answer = post('/v1/jobs/batch', { jobs: [job('p1'), job('p2')] }, { prefer: 'wait=1' });
    const ids = await newestJobs(2, since);
    const [, second] = ids;
    if (second === undefined) throw new Error('expected two jobs');
    await cancel(second);
    const started = performance.now();
    const body = (await (await answer).json()) as JobBatchResult;
    expect(performance.now() - started).toBeGreaterThan(300);
    const byId = new Map(body.results.flatMap((r) => ('job' in r ? [[r.job.id, r] as const] : [])));
    expect(byId.get(second)).toMatchObject({ status: 200, job: { status: 'cancelled' } });
    expect(byId.get(ids[0] ?? '')).toMatchObject({ status: 202, job: { status: 'queued' } });
    expect(ctx.cluster.api.hub.waiting).toBe(0);
  });
});

describe('POST /v1/jobs/wait', () => {
  it('answers as soon as every job has ended, with their views', async () => {
    const ids = acceptedIds((await batch([job(1), job(2), job(3)])).body);
    const answer = post('/v1/jobs/wait', { ids, timeoutS: 10 });
    await sleep(100);
    for (const id of ids) await cancel(id);
    const started = performance.now();
    const res = await answer;
    expect(performance.now() - started).toBeLessThan(1000);
    const body: unknown = await res.json();
    expect(jobWaitResultSchema.parse(body)).toEqual(body);
    expect(body).toMatchObject({ done: true, pending: [], unknown: [] });
    expect((body as JobWaitResult).jobs.map((v) => [v.id, v.status])).toEqual(ids.map((id) => [id, 'cancelled']));
  });

  it('answers at the timeout with every current view, the pending and the unknown ids', async () => {
    const ids = acceptedIds((await batch([job(1), job(2)])).body);
    const [ended, still] = ids;
    await cancel(ended ?? '');
    const unknown = '00000000-0000-4000-8000-000000000000';
    const started = performance.now();
    const res = await post('/v1/jobs/wait', { ids: [...ids, unknown, still], timeoutS: 0.5 });
    expect(performance.now() - started).toBeGreaterThan(450);
    const body = (await res.json()) as JobWaitResult;
    expect(body.done).toBe(false);
    expect(body.pending).toEqual([still]);
    expect(body.unknown).toEqual([unknown]);
    expect(body.jobs.map((v) => [v.id, v.status])).toEqual([
      [ended, 'cancelled'],
      [still, 'queued'],
    ]);
    expect(ctx.cluster.api.hub.waiting).toBe(0);
  });

  it('with timeoutS 0 reads at once; refuses a malformed body as a whole', async () => {
    const ids = acceptedIds((await batch([job(1)])).body);
    const body = (await (await post('/v1/jobs/wait', { ids, timeoutS: 0 })).json()) as JobWaitResult;
    expect(body).toMatchObject({ done: false, pending: ids });
    for (const bad of [{ ids: [] }, { ids: ['not-a-uuid'] }, { ids, timeoutS: 31 }, { ids: Array.from({ length: MAX_BATCH_JOBS + 1 }, () => ids[0]) }]) {
      const res = await post('/v1/jobs/wait', bad);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('validation_failed');
    }
  });

  it('answers GET on the new paths with 405, not as a job id', async () => {
    for (const path of ['/v1/jobs/batch', '/v1/jobs/wait']) {
      const res = await fetch(`${ctx.cluster.apiUrl}${path}`);
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
    }
  });
});

describe('JobGateway.submitMany', () => {
  it('adds a keyed batch of 1,000 in two sequential round trips (then commits their keys), an unkeyed one in one', async () => {
    const logger = createLogger('test', 'silent');
    const redis = createRedis(ctx.redisUrl, 'producer');
    const queueConnection = createRedis(ctx.redisUrl, 'producer');
    const redisLog = new RedisErrorLog(logger);
    redisLog.watchConnection(redis, 'test');
    redisLog.watchConnection(queueConnection, 'test-queues');
    for (const connection of [redis, queueConnection]) if (connection.status !== 'ready') await once(connection, 'ready');
    const config = { ...ctx.config, KEY_PREFIX: `${ctx.config.KEY_PREFIX}-gw` };
    const gateway = new JobGateway({ redis, queueConnection, config, catalog: fleet, redisLog });
    const request = (i: number): JobRequest => ({ model: 'default', input: i, priority: 'normal' });
    // The add (queue connection) and the index (plain connection) go out together, in one round;
    // the idempotency claims (plain connection) are the round before. The commits of the records
    // are written once the add is in, and the answer does not wait for their reply.
    const measure = (): { commands: { count(): number }; queues: { count(): number } } => ({ commands: roundTrips(redis.stream), queues: roundTrips(queueConnection.stream) });
    try {
      await gateway.submitMany([{ request: request(0), idempotency: { key: 'warm', scope: 'global' } }], 'anonymous');
      const keyedRounds = measure();
      const keyed = await gateway.submitMany(Array.from({ length: 1000 }, (_, i) => ({ request: request(i), idempotency: { key: `k-${i}`, scope: 'global' } })), 'anonymous');
      expect(keyed.every((r) => r.ok && !r.replayed)).toBe(true);
      expect([keyedRounds.commands.count(), keyedRounds.queues.count()]).toEqual([3, 1]);
      const committed = async (): Promise<string | null> => redis.get(keySpace(config.KEY_PREFIX).idempotency(idempotentJobId({ key: 'k-999', scope: 'global' })));
      await expect.poll(committed).toMatch(/^\{"state":"committed",/);
      const replayed = measure();
      const again = await gateway.submitMany(Array.from({ length: 1000 }, (_, i) => ({ request: request(i), idempotency: { key: `k-${i}`, scope: 'global' } })), 'anonymous');
      expect(again.every((r) => r.ok && r.replayed)).toBe(true);
      expect([replayed.commands.count(), replayed.queues.count()]).toEqual([1, 0]);
      const unkeyed = measure();
      await gateway.submitMany(Array.from({ length: 1000 }, (_, i) => ({ request: request(i) })), 'anonymous');
      expect([unkeyed.commands.count(), unkeyed.queues.count()]).toEqual([1, 1]);
    } finally {
      await gateway.close();
      await Promise.all([closeRedis(redis), closeRedis(queueConnection)]);
    }
  });
});

describe('the listing index', () => {
  it('is trimmed of expired entries at most once a second per key by one API process', async () => {
    const trims = async (jobs: number): Promise<number> => {
      const before = (await commandCounts()).get('zremrangebyscore') ?? 0;
      await batch(Array.from({ length: jobs }, (_, i) => job(i)));
      return ((await commandCounts()).get('zremrangebyscore') ?? 0) - before;
    };
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // The four keys (all jobs, the model's, the owner's, the owner's and model's) once, then not again
    // within the second, then again after it.
    expect(await trims(3)).toBe(4);
    expect(await trims(3)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await trims(3)).toBe(4);
  });
});

/**
 * Counts sequential round trips on a connection: a write after an answer (or the first write)
 * starts one; writes sent before any answer came back belong to the same one.
 */
function roundTrips(socket: Socket): { count(): number } {
  let count = 0;
  let answered = true;
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  const onData = (): void => {
    answered = true;
  };
  socket.on('data', onData);
  socket.write = ((...args: unknown[]) => {
    if (answered) count += 1;
    answered = false;
    return write(...args);
  });
  return {
    count: () => {
      socket.off('data', onData);
      socket.write = write;
      return count;
    },
  };
}

/** The ids of the `n` newest jobs, once there are `n` newer than the call (the listing is newest first). */
/** The ids of the `n` newest jobs, once there are `n` created at or after `since` (ms). */
async function newestJobs(n: number, since: number): Promise<string[]> {
  for (;;) {
    const { jobs } = (await (await fetch(`${ctx.cluster.apiUrl}/v1/jobs?limit=${n}`)).json()) as { jobs: { id: string; timings: { createdAt: string } }[] };
    if (jobs.length === n && jobs.every((j) => Date.parse(j.timings.createdAt) >= since)) return jobs.map((j) => j.id);
    await sleep(10);
  }
}
