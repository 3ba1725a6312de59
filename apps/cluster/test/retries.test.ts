import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog, seededRng } from '@sched/core';
import { createApi, type Api } from '@sched/api';
import { createDispatcher, type Dispatcher } from '@sched/dispatcher';
import { RedisServer, testConfig } from '@sched/testkit';
import { createWorkerHost, type WorkerHost } from '@sched/worker';
import { readJob, submitJob } from './support.js';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } },
  workers: [{ id: 'flaky-0', class: 'gpu', slots: 4, failureRate: 0.5 }],
});

let redis: RedisServer;
let api: Api;
let dispatcher: Dispatcher;
let workers: WorkerHost;
let base: string;

beforeAll(async () => {
  redis = await RedisServer.start({ appendOnly: false });
  const config = testConfig(redis.url, { MAX_ATTEMPTS: '12', RETRY_BACKOFF_MS: '5' });
  workers = await createWorkerHost(config, { fleet, rng: seededRng(7), serveMetrics: false });
  dispatcher = await createDispatcher(config, { fleet, serveMetrics: false });
  api = await createApi(config, { fleet });
  base = `http://127.0.0.1:${await api.listen()}`;
});
afterAll(async () => {
  await api?.close();
  await dispatcher?.close();
  await workers?.close();
  await redis?.destroy();
});

describe('a worker that fails half its runs', () => {
  it('still completes every job within MAX_ATTEMPTS, retrying in the same worker queue', async () => {
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => submitJob(base, { model: 'default', input: i })));
    const views = await Promise.all(ids.map((id) => readJob(base, id, 20)));
    expect(views.map((v) => v.status)).toEqual(ids.map(() => 'completed'));
    const attempts = views.map((v) => v.attempts);
    expect(Math.max(...attempts)).toBeGreaterThan(1);
    expect(Math.max(...attempts)).toBeLessThanOrEqual(12);
    // Every attempt after the first is a retry: about half of all runs failed.
    const runs = attempts.reduce((a, b) => a + b, 0);
    expect(runs - views.length).toBeGreaterThan(views.length * 0.4);
  });
});
