import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySpace } from '@sched/core';
import { createRedis } from '@sched/runtime';
import { spawnApp, untilStatus, waitFor, type SpawnedApp } from '@sched/testkit';
import { useTestCluster } from '@sched/testkit/fixtures';
import type { Redis } from 'ioredis';
import { startApiAndDispatcher } from './support.js';

const fleetFile = join(tmpdir(), `sched-lifecycle-${process.pid}.json`);
writeFileSync(
  fleetFile,
  JSON.stringify({
    models: { default: { gpu: { p50Ms: 800, p99Ms: 800 } } },
    workers: [{ id: 'gpu-0', class: 'gpu', slots: 2 }],
  }),
);

// An API and a dispatcher in this process, the worker hosts real processes; Redis keeps an
// append-only file, so that it can be restarted without losing jobs.
const ctx = useTestCluster((config) => startApiAndDispatcher(config), { env: { FLEET_FILE: fleetFile, LOCK_DURATION_MS: '1000' }, appendOnly: true });
let redisClient: Redis;
const spawned: SpawnedApp[] = [];

function workerEnv(): Record<string, string> {
  return {
    REDIS_URL: ctx.config.REDIS_URL,
    KEY_PREFIX: ctx.config.KEY_PREFIX,
    FLEET_FILE: fleetFile,
    WORKER_METRICS_PORT: '0',
    HEARTBEAT_MS: '200',
    LOCK_DURATION_MS: '1000',
    SHUTDOWN_TIMEOUT_MS: '5000',
  };
}

async function startWorkerProcess(): Promise<SpawnedApp> {
  const app = spawnApp('worker', workerEnv());
  spawned.push(app);
  await waitFor(() => app.output().includes('worker host started'), 15_000, 'the worker host to start');
  return app;
}

beforeAll(() => {
  redisClient = createRedis(ctx.redisUrl, 'service');
});
afterAll(() => {
  for (const app of spawned) app.child.kill('SIGKILL');
  redisClient?.disconnect();
});

describe('worker host lifecycle (a real process)', () => {
  it('on SIGTERM finishes its active jobs, removes its descriptor and exits 0', async () => {
    const { client } = ctx;
    const app = await startWorkerProcess();
    const keys = keySpace(ctx.config.KEY_PREFIX);
    await waitFor(async () => (await redisClient.exists(keys.workerDescriptor('gpu-0'))) === 1, 5000, 'the descriptor');
    const ids = [(await client.submit({ model: 'default', input: 1 })).id, (await client.submit({ model: 'default', input: 2 })).id];
    for (const id of ids) await untilStatus(client, id, 'running', 5000);

    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
    for (const id of ids) {
      const view = await client.get(id);
      expect(view.status).toBe('completed');
      expect(view.attempts).toBe(1);
    }
    expect(await redisClient.exists(keys.workerDescriptor('gpu-0'))).toBe(0);
  });

  it('after kill -9 mid-job, the job is recovered and completed by the restarted worker', async () => {
    const { client } = ctx;
    const first = await startWorkerProcess();
    const { id } = await client.submit({ model: 'default', input: 'survive a crash' });
    await untilStatus(client, id, 'running', 5000);
    first.child.kill('SIGKILL');
    await first.exited;
    await startWorkerProcess();
    const view = await client.wait(id, { timeoutS: 15 });
    expect(view.status).toBe('completed');
    expect(view.attempts).toBeGreaterThanOrEqual(2);
  });

  it('a Redis restart loses no accepted job', async () => {
    const { client, redis } = ctx;
    const ids = (await Promise.all(Array.from({ length: 6 }, (_, i) => client.submit({ model: 'default', input: i })))).map((job) => job.id);
    await untilStatus(client, ids[0] ?? '', 'running', 5000);
    await redis.stop('SIGTERM');
    await redis.restart();
    await waitFor(async () => (await fetch(`${ctx.cluster.apiUrl}/readyz`)).status === 200, 10_000, 'the API to see Redis again');
    for (const id of ids) expect((await client.wait(id, { timeoutS: 20 })).status).toBe('completed');
  });
});
