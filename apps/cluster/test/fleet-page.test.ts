/// <reference lib="dom" />
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { ARTIFACTS, launchChromium } from './browser.js';
import { PRICED_FLEET, useCluster } from './support.js';

const ctx = useCluster(PRICED_FLEET);
let browser: Browser;
let loading = true;
let load: Promise<void> = Promise.resolve();

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  loading = false;
  await load;
  await browser?.close();
});

describe('the live fleet page at /', () => {
  it('shows every worker of the fleet with numbers that change under load', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 700 } });
    await page.goto(`${ctx.cluster.apiUrl}/`);
    for (const worker of PRICED_FLEET.workers) await page.locator(`tr[data-worker="${worker.id}"]`).waitFor({ timeout: 10_000 });
    const jobsBefore = await page.locator('#jobs').innerText();

    load = (async () => {
      let i = 0;
      while (loading) await ctx.client.wait((await ctx.client.submit({ model: 'default', input: i++ })).id, { timeoutS: 5 });
    })();
    // The page updates itself (SSE): the job count and the throughput move without a reload.
    await page.waitForFunction((before) => document.getElementById('jobs')?.textContent !== before, jobsBefore, { timeout: 10_000 });
    await page.waitForFunction(() => Number(document.getElementById('throughput')?.textContent) > 0, undefined, { timeout: 10_000 });
    const p99 = Number(await page.locator('#p99').innerText());
    expect(p99).toBeGreaterThan(0);
    // The observed service time comes with the worker's next heartbeat after its first jobs, then the
    // page's next fleet push: wait for it rather than race it.
    await page.waitForFunction(() => /default \d+ ms/.test(document.querySelector('tr[data-worker="gpu-0"]')?.textContent ?? ''), undefined, { timeout: 10_000 });
    const gpuRow = await page.locator('tr[data-worker="gpu-0"]').innerText();
    expect(gpuRow).toMatch(/gpu\s+live\s+2/);
    expect(gpuRow).toMatch(/default \d+ ms/);
    expect(gpuRow).toMatch(/[1-9]\d* %/);
    await page.screenshot({ path: join(ARTIFACTS, 'fleet-page.png') });
    await page.close();
  });
});
