import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog, type JobBatchResult, type JobView } from '@sched/core';
import { RedisCommandStats, diffCommandStats, totalCalls } from '@sched/testkit';
import { LIST_READ_BUDGET } from '../src/job-gateway.js';
import { useApi } from './use-api.js';

const KEY_A = 'tenant-a-0123456789';
const KEY_B = 'tenant-b-0123456789';
const KEY_C = 'tenant-c-0123456789';
const ADMIN = 'the-admin-0123456789';
const fleet = parseCatalog({ models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }] });
// No dispatcher: every job stays queued, so `status=completed` matches none of them.
const ctx = useApi(fleet, { env: { API_KEYS: `${KEY_A},${KEY_B},${KEY_C}`, ADMIN_API_KEYS: ADMIN } });
const BATCH = 50;
/** A queued job is read with one MULTI of three commands (MULTI, HGETALL, GET, GET, EXEC). */
const COMMANDS_PER_QUEUED_READ = 5;

/** The index reads (a page, and one to place a cursor), and room for a stray INFO of a new connection. */
const SLACK = 4;

/** The same jobs, each once (jobs of one batch share a millisecond: among them the order is the index's). */
function expectSameJobs(listed: readonly string[], expected: readonly string[] = []): void {
  expect(listed).toHaveLength(expected.length);
  expect(new Set(listed)).toEqual(new Set(expected));
}

interface JobList {
  jobs: JobView[];
  nextCursor?: string;
}

const submitted = new Map<string, string[]>([
  [KEY_A, []],
  [KEY_B, []],
  [KEY_C, []],
]);

async function submitBatch(key: string, count: number): Promise<void> {
  const res = await fetch(`${ctx.cluster.apiUrl}/v1/jobs/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ jobs: Array.from({ length: count }, (_, i) => ({ model: 'default', input: i })) }),
  });
  expect(res.status).toBe(200);
  const result = (await res.json()) as JobBatchResult;
  for (const item of result.results) if ('job' in item) submitted.get(key)?.push(item.job.id);
}

let stats: RedisCommandStats;
beforeAll(async () => {
  stats = await RedisCommandStats.connect(ctx.redisUrl);
  // 300 of B's, 600 of A's, 300 of B's: without a per-owner index A's listing would pass B's.
  const order = [...Array<string>(6).fill(KEY_B), ...Array<string>(12).fill(KEY_A), ...Array<string>(6).fill(KEY_B)];
  for (const key of order) {
    await submitBatch(key, BATCH);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  // 250 jobs of one batch share one millisecond: more than a page.
  await submitBatch(KEY_C, 250);
}, 60_000);
afterAll(() => stats.close());

async function list(query: string, key: string): Promise<{ commands: number; page: JobList }> {
  const before = await stats.snapshot();
  const res = await fetch(`${ctx.cluster.apiUrl}/v1/jobs?${query}`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  const page = (await res.json()) as JobList;
  const after = await stats.snapshot();
  return { commands: totalCalls(diffCommandStats(before, after)), page };
}

/** Every page of a listing: the ids in order, and the most commands one request cost. */
async function listAll(query: string, key: string): Promise<{ ids: string[]; pages: number; maxCommands: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  let maxCommands = 0;
  do {
    const { commands, page } = await list(`${query}${cursor === undefined ? '' : `&cursor=${cursor}`}`, key);
    ids.push(...page.jobs.map((job) => job.id));
    maxCommands = Math.max(maxCommands, commands);
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== undefined && pages < 100);
  return { ids, pages, maxCommands };
}

describe('GET /v1/jobs per tenant', () => {
  it("lists only the caller's jobs, newest first, reading only those it answers", async () => {
    const { ids, maxCommands } = await listAll('limit=100', KEY_A);
    expectSameJobs(ids, submitted.get(KEY_A));
    // A page of 100 reads its 100 jobs and no other: one ZREVRANGEBYSCORE, one more to place a cursor.
    expect(maxCommands).toBeLessThanOrEqual(100 * COMMANDS_PER_QUEUED_READ + SLACK);
    const small = await list('limit=20', KEY_A);
    expect(small.page.jobs).toHaveLength(20);
    expect(small.commands).toBeLessThanOrEqual(20 * COMMANDS_PER_QUEUED_READ + SLACK);
  });

  it("lets an admin list every tenant's jobs", async () => {
    const { ids } = await listAll('limit=100', ADMIN);
    expectSameJobs(ids, [...submitted.values()].flat());
  });

  it('pages through a batch larger than a page that shares one millisecond, without repeats', async () => {
    const { ids, pages } = await listAll('limit=100', KEY_C);
    expectSameJobs(ids, submitted.get(KEY_C));
    expect(pages).toBe(3);
  });

  it(`reads at most ${LIST_READ_BUDGET} jobs per request under a status filter, and says where to go on`, async () => {
    const { ids, pages, maxCommands } = await listAll('status=completed&limit=20', ADMIN);
    expect(ids).toEqual([]);
    // 1,450 jobs, none completed: 15 short pages with a cursor rather than one request reading them all.
    expect(pages).toBe(Math.ceil(1450 / LIST_READ_BUDGET));
    expect(maxCommands).toBeLessThanOrEqual(LIST_READ_BUDGET * COMMANDS_PER_QUEUED_READ + SLACK);
    const queued = await list('status=queued&limit=5', KEY_B);
    const newest = new Set((submitted.get(KEY_B) ?? []).slice(-BATCH));
    expect(queued.page.jobs.filter((job) => newest.has(job.id))).toHaveLength(5);
  });
});
