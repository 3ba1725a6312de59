import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '@sched/core';
import { spawnApp, untilStatus, waitFor, type SpawnedApp } from '@sched/testkit';
import { useTestCluster } from '@sched/testkit/fixtures';
import { createWorkerHost, type WorkerHost } from '@sched/worker';
import { startApiAndDispatcher } from './support.js';

const fleetFile = join(tmpdir(), `sched-dead-worker-${process.pid}.json`);
writeFileSync(
  fleetFile,
  JSON.stringify({
    models: { default: { gpu: { p50Ms: 1500, p99Ms: 1500 } } },
    workers: [
      { id: 'gpu-0', class: 'gpu', slots: 2 },
      { id: 'gpu-1', class: 'gpu', slots: 4 },
    ],
  }),
);

// An API and a dispatcher in this process; the workers are a process killed by the test and a host it starts.
const ctx = useTestCluster((config) => startApiAndDispatcher(config), {
  env: {
    FLEET_FILE: fleetFile,
    LOCK_DURATION_MS: '1000',
    DEAD_WORKER_GRACE_MS: '1500',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_RECHECK_MS: '300',
  },
});
let survivor: WorkerHost | undefined;
let doomed: SpawnedApp | undefined;
/** A webhook receiver: counts deliveries by webhook-id. */
let receiver: Server;
const deliveries: string[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    deliveries.push(String(req.headers['webhook-id']));
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  }).listen(0, '127.0.0.1');
  await new Promise((resolve) => receiver.once('listening', resolve));
});
afterAll(async () => {
  doomed?.child.kill('SIGKILL');
  await survivor?.close();
  receiver?.closeAllConnections();
  receiver?.close();
});

describe('a worker that dies and never comes back', () => {
  it('has its running and waiting jobs routed again to a live worker; a webhook is sent once', async () => {
    const { client, config } = ctx;
    doomed = spawnApp('worker', {
      REDIS_URL: config.REDIS_URL,
      KEY_PREFIX: config.KEY_PREFIX,
      FLEET_FILE: fleetFile,
      WORKER_IDS: 'gpu-0',
      WORKER_METRICS_PORT: '0',
      HEARTBEAT_MS: '200',
      LOCK_DURATION_MS: '1000',
    });
    await waitFor(() => doomed?.output().includes('worker host started') === true, 15_000, 'gpu-0 to start');
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    // The first job carries a webhook: its delivery was reserved by the worker that died.
    const accepted = await Promise.all([1, 2, 3].map((i) => client.submit({ model: 'default', input: i, ...(i === 1 ? { webhook: { url: hook } } : {}) })));
    const ids = accepted.map((job) => job.id);
    await untilStatus(client, ids[0] ?? '', 'running', 5000);
    for (const id of ids) expect((await client.get(id)).worker?.id).toBe('gpu-0');

    doomed.child.kill('SIGKILL');
    await doomed.exited;
    survivor = await createWorkerHost({ ...config, WORKER_IDS: ['gpu-1'] }, { fleet: loadCatalog(fleetFile), serveMetrics: false });

    for (const id of ids) {
      const view = await client.wait(id, { timeoutS: 20 });
      expect(view.status).toBe('completed');
      expect(view.worker?.id).toBe('gpu-1');
    }
    await waitFor(async () => (await client.get(ids[0] ?? '')).webhook?.state === 'delivered', 5000, 'the webhook to be delivered');
    await new Promise((r) => setTimeout(r, 500));
    expect(deliveries).toEqual([ids[0]]);
  });
});
