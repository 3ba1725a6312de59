import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type SchedClient } from '@sched/client';
import { RedisServer, freePort, spawnApp, testEnv, waitFor, type SpawnedApp } from '@sched/testkit';

// Jobs of ~1 ms on the cluster as deployed (api, dispatcher, worker host: three processes): a job's
// end message often reaches the API before the submit's own answer does.
const FLEET = { models: { default: { gpu: { p50Ms: 1, p99Ms: 1 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 8 }] };

let redis: RedisServer;
let dir: string;
let client: SchedClient;
const apps: SpawnedApp[] = [];

beforeAll(async () => {
  redis = await RedisServer.start({ appendOnly: false });
  dir = mkdtempSync(join(tmpdir(), 'long-poll-race-'));
  writeFileSync(join(dir, 'fleet.json'), JSON.stringify(FLEET));
  const apiPort = await freePort();
  const env = testEnv(redis.url, { API_PORT: String(apiPort), FLEET_FILE: join(dir, 'fleet.json'), LOG_LEVEL: 'warn' });
  for (const app of ['worker', 'dispatcher', 'api'] as const) apps.push(spawnApp(app, env));
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  await waitFor(async () => (await fetch(`${apiUrl}/readyz`).catch(() => null))?.status === 200, 30_000, 'the API to be ready');
  client = createClient({ baseUrl: apiUrl });
  // The first job also waits for the first heartbeat and fleet read.
  const { id } = await client.submit({ model: 'default', input: 'warm' });
  await client.wait(id, { timeoutS: 20 });
}, 60_000);

afterAll(async () => {
  await client?.close();
  for (const app of apps) app.child.kill('SIGTERM');
  await Promise.all(apps.map((app) => app.exited));
  await redis?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('a long-poll right after the submit of a job that ends at once', () => {
  it('answers when the job ends, never at its timeout (the end may come before the submit answers)', async () => {
    const took: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, c) => {
        for (let i = 0; i < 25; i++) {
          const t0 = performance.now();
          const { id } = await client.submit({ model: 'default', input: `${c}-${i}` });
          const view = await client.wait(id, { timeoutS: 5 });
          expect(view.status).toBe('completed');
          took.push(performance.now() - t0);
        }
      }),
    );
    // 200 jobs; one held until its 5 s wait ran out would show here.
    expect(took).toHaveLength(200);
    expect(Math.max(...took)).toBeLessThan(2500);
  }, 60_000);
});
