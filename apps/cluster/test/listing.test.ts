import { beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog, type JobView } from '@sched/core';
import { useCluster } from './support.js';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } }, rare: { tpu: { p50Ms: 5, p99Ms: 5 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 2 },
    { id: 'tpu-0', class: 'tpu', slots: 1 },
  ],
});

const ctx = useCluster(fleet, { WORKER_IDS: 'gpu-0' });
const done: string[] = [];
const parked: string[] = [];

interface Page {
  jobs: JobView[];
  nextCursor?: string;
}

// The client has no listing call: the query string is what these tests are about.
async function list(query: string): Promise<Page> {
  const res = await fetch(`${ctx.cluster.apiUrl}/v1/jobs?${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

beforeAll(async () => {
  for (let i = 0; i < 5; i++) {
    const { id } = await ctx.client.submit({ model: 'default', input: i });
    await ctx.client.wait(id, { timeoutS: 5 });
    done.push(id);
    parked.push((await ctx.client.submit({ model: 'rare', input: i })).id);
  }
});

describe('GET /v1/jobs', () => {
  it('pages through every retained job, newest first, without repeats', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await list(`limit=3${cursor === undefined ? '' : `&cursor=${cursor}`}`);
      seen.push(...page.jobs.map((j) => j.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== undefined && pages < 10);
    const submittedNewestFirst = done.flatMap((id, i) => [id, parked[i] ?? '']).reverse();
    expect(seen).toEqual(submittedNewestFirst);
    expect(pages).toBe(4);
  });

  it('filters by model and by status', async () => {
    const rare = await list('model=rare&limit=100');
    expect(rare.jobs.map((j) => j.id)).toEqual([...parked].reverse());
    expect(rare.jobs.every((j) => j.status === 'queued')).toBe(true);
    const completed = await list('status=completed&limit=2');
    expect(completed.jobs.map((j) => j.id)).toEqual([done[4], done[3]]);
    const rest = await list(`status=completed&limit=100&cursor=${completed.nextCursor ?? ''}`);
    expect(rest.jobs.map((j) => j.id)).toEqual([done[2], done[1], done[0]]);
  });

  it('rejects a bad query with 400 naming the parameter', async () => {
    for (const query of ['status=done', 'limit=0', 'limit=101', 'cursor=nonsense', 'colour=red']) {
      const res = await fetch(`${ctx.cluster.apiUrl}/v1/jobs?${query}`);
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('invalid_query');
    }
  });
});
