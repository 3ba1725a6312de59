import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { RedisServer, testConfig } from '@sched/testkit';
import { createWorkerHost, type WorkerHost } from '@sched/worker';
import { parseCatalog } from '@sched/core';
import { startLocalCluster, type LocalCluster } from '../src/index.js';
import { ARTIFACTS, launchChromium } from './browser.js';
import { readJob, submitJob } from './support.js';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 5, p99Ms: 10 }, cpu: { p50Ms: 20, p99Ms: 40 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 2 },
    { id: 'cpu-0', class: 'cpu', slots: 1 },
    { id: 'cpu-late', class: 'cpu', slots: 1 },
  ],
});

let redis: RedisServer;
let cluster: LocalCluster;
let late: WorkerHost | undefined;
let browser: Browser;

beforeAll(async () => {
  redis = await RedisServer.start({ appendOnly: false });
  cluster = await startLocalCluster(testConfig(redis.url, { WORKER_IDS: 'gpu-0,cpu-0' }), { fleet });
  const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => submitJob(cluster.apiUrl, { model: 'default', input: i })));
  for (const id of ids) await readJob(cluster.apiUrl, id, 10);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await late?.close();
  await cluster?.close();
  await redis?.destroy();
});

describe('Bull Board in headless Chromium', () => {
  it('shows ingress and every worker queue with counts, and follows a worker that joins later', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${cluster.apiUrl}/admin/queues`);
    for (const name of ['ingress', 'worker.gpu-0', 'worker.cpu-0']) {
      await page.getByText(name, { exact: true }).first().waitFor({ timeout: 15_000 });
    }
    // The queue cards render after the sidebar: wait for a card with its job count.
    await page.getByText(/^[1-9]\d* Jobs$/).first().waitFor({ timeout: 15_000 });
    const body = await page.locator('body').innerText();
    expect(body).toMatch(/completed/i);
    expect(body).toMatch(/[1-9]\d* Jobs/);
    expect(body).not.toContain('worker.cpu-late');
    await page.screenshot({ path: join(ARTIFACTS, 'bull-board.png'), fullPage: true });

    late = await createWorkerHost({ ...cluster.config, WORKER_IDS: ['cpu-late'] }, { fleet, serveMetrics: false });
    await page.reload();
    await page.getByText('worker.cpu-late', { exact: true }).first().waitFor({ timeout: 15_000 });
    await page.close();
  });
});
