import { afterAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '@sched/core';
import { untilStatus } from '@sched/testkit';
import { useTestCluster } from '@sched/testkit/fixtures';
import { createWorkerHost, type WorkerHost } from '@sched/worker';
import { startApiAndDispatcher } from './support.js';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 3000, p99Ms: 3000 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 1 },
    { id: 'gpu-1', class: 'gpu', slots: 8 },
  ],
});

// A fleet refresh every 10 s: within the test, only the `draining` event can move the jobs.
const ctx = useTestCluster((config) => startApiAndDispatcher(config, fleet), { env: { FLEET_REFRESH_MS: '10000', HEARTBEAT_MS: '200' } });
const hosts: WorkerHost[] = [];
afterAll(async () => {
  await Promise.all(hosts.map((host) => host.close()));
});

describe('a worker host that drains (SIGTERM)', () => {
  it('hands its waiting jobs over at once, while it finishes the job it runs', async () => {
    const { client, config } = ctx;
    const draining = await createWorkerHost({ ...config, WORKER_IDS: ['gpu-0'] }, { fleet, serveMetrics: false });
    hosts.push(draining);
    const accepted = await Promise.all(Array.from({ length: 6 }, (_, i) => client.submit({ model: 'default', input: i })));
    await untilStatus(client, accepted[0]?.id ?? '', 'running', 5000);
    for (const { id } of accepted) expect((await client.get(id)).worker?.id).toBe('gpu-0');
    hosts.push(await createWorkerHost({ ...config, WORKER_IDS: ['gpu-1'] }, { fleet, serveMetrics: false }));

    const drainStarted = Date.now();
    const drained = draining.close();
    const views = await Promise.all(accepted.map(({ id }) => client.wait(id, { timeoutS: 20 })));
    await drained;
    expect(views.map((view) => view.status)).toEqual(Array(6).fill('completed'));
    const [first, ...waiting] = views;
    // The running job finished where it ran; the waiting ones started on gpu-1 long before it ended (3 s).
    expect(first?.worker?.id).toBe('gpu-0');
    for (const view of waiting) {
      expect(view.worker?.id).toBe('gpu-1');
      expect(view.attempts).toBe(1);
      expect(Date.parse(view.timings.startedAt ?? '') - drainStarted).toBeLessThan(1500);
    }
  }, 30_000);
});
