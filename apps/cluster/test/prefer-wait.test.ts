import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { jobViewSchema, parseCatalog, type JobAccepted, type JobView } from '@sched/core';
import { useTestCluster } from '@sched/testkit/fixtures';
import { createWorkerHost } from '@sched/worker';
import { startApiAndDispatcher } from './support.js';

// POST /v1/jobs with `Prefer: wait` (RFC 7240) against jobs that really run (an API, a dispatcher
// and a worker host), and the client's submitAndWait on it. The API alone (a wait that runs out, a cancel, the parser's choices) is
// tested in apps/api/test/prefer-wait.test.ts.

const fleet = parseCatalog({
  models: {
    default: { gpu: { p50Ms: 5, p99Ms: 5 } },
    slow: { gpu: { p50Ms: 1200, p99Ms: 1200 } },
    // Outlasts a submission's wait and one whole-second long-poll after it by far.
    slower: { gpu: { p50Ms: 2500, p99Ms: 2500 } },
    broken: { gpu: { p50Ms: 5, p99Ms: 5 } },
  },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 4, models: ['default', 'slow', 'slower'] },
    { id: 'flaky-0', class: 'gpu', slots: 1, models: ['broken'], failureRate: 0.9 },
  ],
});

// The worker host draws 0.5 every time: each latency is its median, and every run on flaky-0 fails.
const ctx = useTestCluster(
  async (config) => {
    const workers = await createWorkerHost(config, { fleet, rng: () => 0.5, serveMetrics: false });
    const services = await startApiAndDispatcher(config, fleet);
    return {
      api: services.api,
      apiUrl: services.apiUrl,
      close: async () => {
        await services.close();
        await workers.close();
      },
    };
  },
  { client: { timeoutMs: 5000 } },
);

function submit(body: unknown, prefer?: string): Promise<Response> {
  return fetch(`${ctx.cluster.apiUrl}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(prefer === undefined ? {} : { prefer }) },
    body: JSON.stringify(body),
  });
}

async function timed(request: Promise<Response>): Promise<{ res: Response; ms: number }> {
  const started = performance.now();
  const res = await request;
  return { res, ms: performance.now() - started };
}

const HTTP_COUNT = /^sched_http_request_duration_seconds_count\{[^}]*\} (\d+)$/gm;

/** Requests the API has answered so far: the count of its request-duration histogram, every route and status. */
async function requestsAnswered(): Promise<number> {
  const text = await ctx.cluster.api.registry.getSingleMetricAsString('sched_http_request_duration_seconds');
  return [...text.matchAll(HTTP_COUNT)].reduce((sum, match) => sum + Number(match[1]), 0);
}

/** The count once it has settled: a request is counted when its answer is handed to the socket. */
async function settledRequests(): Promise<number> {
  let last = await requestsAnswered();
  for (;;) {
    await sleep(50);
    const now = await requestsAnswered();
    if (now === last) return now;
    last = now;
  }
}

describe('POST /v1/jobs with Prefer: wait', () => {
  it('answers 200 with the completed view when the job ends within the wait', async () => {
    const { res, ms } = await timed(submit({ model: 'default', input: 'quick' }, 'wait=10'));
    expect(res.status).toBe(200);
    expect(ms).toBeLessThan(2000);
    expect(res.headers.get('preference-applied')).toBe('wait=10');
    expect(res.headers.get('vary')).toBe('Prefer');
    const view = (await res.json()) as JobView;
    expect(view).toMatchObject({ status: 'completed', model: 'default', result: { worker: 'gpu-0' } });
    expect(jobViewSchema.parse(view)).toEqual(view);
    expect(res.headers.get('content-location')).toBe(`/v1/jobs/${view.id}`);
    // The same view GET /v1/jobs/:id reads.
    expect(await ctx.client.get(view.id)).toEqual(view);
  });

  it('answers 200 with status failed when the job fails within the wait', async () => {
    const res = await submit({ model: 'broken', input: 'doomed' }, 'wait=10');
    expect(res.status).toBe(200);
    expect(res.headers.get('preference-applied')).toBe('wait=10');
    const view = (await res.json()) as JobView;
    expect(view).toMatchObject({ status: 'failed', error: { code: 'execution_failed' } });
  });

  it('answers 202 after the wait when the job is slower, and the job goes on', async () => {
    const { res, ms } = await timed(submit({ model: 'slow', input: 'long' }, 'wait=0.3'));
    expect(res.status).toBe(202);
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(1100);
    expect(res.headers.get('preference-applied')).toBe('wait=0.3');
    expect(res.headers.get('vary')).toBe('Prefer');
    const accepted = (await res.json()) as JobAccepted;
    expect(res.headers.get('location')).toBe(`/v1/jobs/${accepted.id}`);
    expect((await ctx.client.wait(accepted.id, { timeoutS: 10 })).status).toBe('completed');
  });

  it('answers 202 at once, as before, without Prefer or with respond-async, however quick the job', async () => {
    const plain = await submit({ model: 'default', input: 'plain' });
    expect(plain.status).toBe(202);
    expect(plain.headers.get('preference-applied')).toBeNull();
    expect(plain.headers.get('vary')).toBe('Prefer');
    expect(await plain.json()).toMatchObject({ status: 'queued' });
    const async = await submit({ model: 'default', input: 'async' }, 'respond-async');
    expect(async.status).toBe(202);
    expect(async.headers.get('preference-applied')).toBe('respond-async');
    expect(async.headers.get('vary')).toBe('Prefer');
  });
});

describe('client.submitAndWait', () => {
  it('gets the completed view of a quick job in one request', async () => {
    const before = await settledRequests();
    const view = await ctx.client.submitAndWait({ model: 'default', input: 'one request' }, { timeoutS: 10 });
    expect(view).toMatchObject({ status: 'completed', model: 'default' });
    expect((await settledRequests()) - before).toBe(1);
  });

  it('long-polls a job that outlasts its wait until it completes', async () => {
    const before = await settledRequests();
    const started = performance.now();
    const view = await ctx.client.submitAndWait({ model: 'slow', input: 'fallback' }, { waitS: 0.3, timeoutS: 10 });
    expect(view.status).toBe('completed');
    expect(performance.now() - started).toBeGreaterThanOrEqual(1100);
    // The POST that waited 0.3 s (202), then a long-poll that got the result.
    expect((await settledRequests()) - before).toBe(2);
  });

  it('throws wait_timeout when timeoutS passes first', async () => {
    // The POST waits 0.2 s, then one long-poll of 1 s (whole seconds): 1.2 s of a 2.5 s job.
    const failure = await ctx.client.submitAndWait({ model: 'slower', input: 'too long' }, { waitS: 0.2, timeoutS: 0.5 }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'wait_timeout' });
  });
});
