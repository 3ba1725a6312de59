import { afterAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '@sched/core';
import { untilStatus } from '@sched/testkit';
import { createWorkerHost, type WorkerHost } from '@sched/worker';
import { useCluster } from './support.js';

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

// Only gpu-0 runs at first: nothing serves `rare` or `orphan`.
const ctx = useCluster(fleet, { WORKER_IDS: 'gpu-0', NO_WORKER_TIMEOUT_MS: '1500' });
const extraHosts: WorkerHost[] = [];

afterAll(async () => {
  for (const host of extraHosts) await host.close();
});

describe('a job whose model no live worker serves', () => {
  it('is parked while other jobs keep flowing, then runs when a worker that serves it starts', async () => {
    const { client, cluster } = ctx;
    const { id: parked } = await client.submit({ model: 'rare', input: 'wait for a tpu' });
    const others = await Promise.all(Array.from({ length: 10 }, (_, i) => client.submit({ model: 'default', input: i })));
    for (const { id } of others) expect((await client.wait(id, { timeoutS: 10 })).status).toBe('completed');
    expect((await client.get(parked)).status).toBe('queued');
    // The parked job is backlog of the only class that serves its model, though no tpu worker exists yet.
    await cluster.dispatcher.refreshFleet();
    const metrics = await (await fetch(`http://127.0.0.1:${cluster.dispatcher.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^sched_backlog_jobs\{class="tpu",app="dispatcher"\} 1$/m);
    expect(metrics).toMatch(/^sched_backlog_jobs\{class="gpu",app="dispatcher"\} 0$/m);

    const startedAt = Date.now();
    const tpu = await createWorkerHost({ ...ctx.config, WORKER_IDS: ['tpu-0'] }, { fleet, serveMetrics: false });
    extraHosts.push(tpu);
    const view = await client.wait(parked, { timeoutS: 10 });
    expect(view.status).toBe('completed');
    expect(view.worker?.id).toBe('tpu-0');
    // Woken by the fleet event, not by the next re-check of its parking delay.
    expect(Date.now() - startedAt).toBeLessThan(1000);
    await cluster.dispatcher.refreshFleet();
    const after = await (await fetch(`http://127.0.0.1:${cluster.dispatcher.metricsPort}/metrics`)).text();
    expect(after).toMatch(/^sched_backlog_jobs\{class="tpu",app="dispatcher"\} 0$/m);
  });

  it('fails with no_worker once NO_WORKER_TIMEOUT_MS has passed', async () => {
    const { id } = await ctx.client.submit({ model: 'orphan', input: 'nobody' });
    const view = await untilStatus(ctx.client, id, 'failed', 5000);
    expect(view.error?.code).toBe('no_worker');
    expect(view.error?.message).toContain('orphan');
    expect(view.worker).toBeUndefined();
  });
});
