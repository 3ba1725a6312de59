import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySpace, type Config } from '@sched/core';
import { createRedis } from '@sched/runtime';
import { createApi, type Api } from '@sched/api';
import { createDispatcher, type Dispatcher } from '@sched/dispatcher';
import { RedisServer, spawnApp, testConfig, waitFor, type SpawnedApp } from '@sched/testkit';
import type { Redis } from 'ioredis';
import { readJob, submitJob, until } from './support.js';

const fleetFile = join(tmpdir(), `sched-lifecycle-${process.pid}.json`);
writeFileSync(
  fleetFile,
  JSON.stringify({
    models: { default: { gpu: { p50Ms: 800, p99Ms: 800 } } },
    workers: [{ id: 'gpu-0', class: 'gpu', slots: 2 }],
  }),
);

let redis: RedisServer;
let config: Config;
let api: Api;
let dispatcher: Dispatcher;
let client: Redis;
let base: string;
const spawned: SpawnedApp[] = [];

function workerEnv(): Record<string, string> {
  return {
    REDIS_URL: config.REDIS_URL,
    KEY_PREFIX: config.KEY_PREFIX,
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

beforeAll(async () => {
  redis = await RedisServer.start();
  config = testConfig(redis.url, { FLEET_FILE: fleetFile, LOCK_DURATION_MS: '1000' });
  dispatcher = await createDispatcher(config, { serveMetrics: false });
  api = await createApi(config);
  base = `http://127.0.0.1:${await api.listen()}`;
  client = createRedis(redis.url, 'service');
});
afterAll(async () => {
  for (const app of spawned) app.child.kill('SIGKILL');
  client?.disconnect();
  await api?.close();
  await dispatcher?.close();
  await redis?.destroy();
});

describe('worker host lifecycle (a real process)', () => {
  it('on SIGTERM finishes its active jobs, removes its descriptor and exits 0', async () => {
    const app = await startWorkerProcess();
    const keys = keySpace(config.KEY_PREFIX);
    await waitFor(async () => (await client.exists(keys.workerDescriptor('gpu-0'))) === 1, 5000, 'the descriptor');
    const ids = [await submitJob(base, { model: 'default', input: 1 }), await submitJob(base, { model: 'default', input: 2 })];
    for (const id of ids) await until(base, id, 'running', 5000);

    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
    for (const id of ids) {
      const view = await readJob(base, id);
      expect(view.status).toBe('completed');
      expect(view.attempts).toBe(1);
    }
    expect(await client.exists(keys.workerDescriptor('gpu-0'))).toBe(0);
  });

  it('after kill -9 mid-job, the job is recovered and completed by the restarted worker', async () => {
    const first = await startWorkerProcess();
    const id = await submitJob(base, { model: 'default', input: 'survive a crash' });
    await until(base, id, 'running', 5000);
    first.child.kill('SIGKILL');
    await first.exited;
    await startWorkerProcess();
    const view = await readJob(base, id, 15);
    expect(view.status).toBe('completed');
    expect(view.attempts).toBeGreaterThanOrEqual(2);
  });

  it('a Redis restart loses no accepted job', async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => submitJob(base, { model: 'default', input: i })));
    await until(base, ids[0] ?? '', 'running', 5000);
    await redis.stop('SIGTERM');
    await redis.restart();
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 10_000, 'the API to see Redis again');
    for (const id of ids) expect((await readJob(base, id, 20)).status).toBe('completed');
  });
});
