import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createWorkerHost, type WorkerHost } from '@sched/worker';
import { parseCatalog } from '@sched/core';
import { ARTIFACTS, launchChromium } from './browser.js';
import { useCluster } from './support.js';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 5, p99Ms: 10 }, cpu: { p50Ms: 20, p99Ms: 40 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 2 },
    { id: 'cpu-0', class: 'cpu', slots: 1 },
    { id: 'cpu-late', class: 'cpu', slots: 1 },
  ],
});

const ctx = useCluster(fleet, { WORKER_IDS: 'gpu-0,cpu-0' });
let late: WorkerHost | undefined;
let browser: Browser;

beforeAll(async () => {
  const accepted = await Promise.all(Array.from({ length: 12 }, (_, i) => ctx.client.submit({ model: 'default', input: i })));
  for (const { id } of accepted) await ctx.client.wait(id, { timeoutS: 10 });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await late?.close();
});

describe('Bull Board in headless Chromium', () => {
  it('shows ingress and every worker queue with counts, and follows a worker that joins later', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${ctx.cluster.apiUrl}/admin/queues`);
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

    late = await createWorkerHost({ ...ctx.config, WORKER_IDS: ['cpu-late'] }, { fleet, serveMetrics: false });
    await page.reload();
    await page.getByText('worker.cpu-late', { exact: true }).first().waitFor({ timeout: 15_000 });
    await page.close();
  });
});
