import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '@sched/core';
import { RedisServer, testConfig } from '@sched/testkit';
import { createWorkerHost, type WorkerHost } from '@sched/worker';
import { startLocalCluster, type LocalCluster } from '../src/index.js';
import { readJob, submitJob, until } from './support.js';

const fleet = parseCatalog({
  models: {
    default: { gpu: { p50Ms: 20, p99Ms: 20 } },
    rare: { tpu: { p50Ms: 20, p99Ms: 20 } },
    orphan: { npu: { p50Ms: 20, p99Ms: 20 } },
  },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 2 },
    { id: 'tpu-0', class: 'tpu', slots: 1 },
    { id: 'npu-0', class: 'npu', slots: 1 },
  ],
});

let redis: RedisServer;
let cluster: LocalCluster;
const extraHosts: WorkerHost[] = [];

beforeAll(async () => {
  redis = await RedisServer.start({ appendOnly: false });
  // Only gpu-0 runs at first: nothing serves `rare` or `orphan`.
  cluster = await startLocalCluster(testConfig(redis.url, { WORKER_IDS: 'gpu-0', NO_WORKER_TIMEOUT_MS: '1500' }), { fleet });
});
afterAll(async () => {
  for (const host of extraHosts) await host.close();
  await cluster?.close();
  await redis?.destroy();
});

describe('a job whose model no live worker serves', () => {
  it('is parked while other jobs keep flowing, then runs when a worker that serves it starts', async () => {
    const parked = await submitJob(cluster.apiUrl, { model: 'rare', input: 'wait for a tpu' });
    const others = await Promise.all(Array.from({ length: 10 }, (_, i) => submitJob(cluster.apiUrl, { model: 'default', input: i })));
    for (const id of others) expect((await readJob(cluster.apiUrl, id, 10)).status).toBe('completed');
    expect((await readJob(cluster.apiUrl, parked)).status).toBe('queued');
    // The parked job is backlog of the only class that serves its model, though no tpu worker exists yet.
    await cluster.dispatcher.refreshFleet();
    const metrics = await (await fetch(`http://127.0.0.1:${cluster.dispatcher.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^sched_backlog_jobs\{class="tpu",app="dispatcher"\} 1$/m);
    expect(metrics).toMatch(/^sched_backlog_jobs\{class="gpu",app="dispatcher"\} 0$/m);

    const startedAt = Date.now();
    const tpu = await createWorkerHost({ ...cluster.config, WORKER_IDS: ['tpu-0'] }, { fleet, serveMetrics: false });
    extraHosts.push(tpu);
    const view = await readJob(cluster.apiUrl, parked, 10);
    expect(view.status).toBe('completed');
    expect(view.worker?.id).toBe('tpu-0');
    // Woken by the fleet event, not by the next re-check of its parking delay.
    expect(Date.now() - startedAt).toBeLessThan(1000);
    await cluster.dispatcher.refreshFleet();
    const after = await (await fetch(`http://127.0.0.1:${cluster.dispatcher.metricsPort}/metrics`)).text();
    expect(after).toMatch(/^sched_backlog_jobs\{class="tpu",app="dispatcher"\} 0$/m);
  });

  it('fails with no_worker once NO_WORKER_TIMEOUT_MS has passed', async () => {
    const id = await submitJob(cluster.apiUrl, { model: 'orphan', input: 'nobody' });
    const view = await until(cluster.apiUrl, id, 'failed', 5000);
    expect(view.error?.code).toBe('no_worker');
    expect(view.error?.message).toContain('orphan');
    expect(view.worker).toBeUndefined();
  });
});
