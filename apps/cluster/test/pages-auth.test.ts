import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from './browser.js';
import { PRICED_FLEET, useCluster } from './support.js';

const KEY = 'ops-key-0123456789abcdef';

const ctx = useCluster(PRICED_FLEET, { API_KEYS: KEY, BULL_BOARD_READ_ONLY: 'true' });
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe('browser pages with API keys configured (HTTP Basic, the key as password)', () => {
  it('refuses Bull Board and the fleet page without credentials', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    for (const path of ['/admin/queues', '/']) {
      // Chromium meets the Basic challenge with no credentials to give and abandons the navigation.
      await expect(page.goto(`${ctx.cluster.apiUrl}${path}`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    }
    await context.close();
  });

  it('serves them with a key, the fleet page live over the same credentials', async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'ops', password: KEY } });
    const page = await context.newPage();
    expect((await page.goto(`${ctx.cluster.apiUrl}/admin/queues`))?.status()).toBe(200);
    await page.getByText('worker.gpu-0', { exact: true }).first().waitFor({ timeout: 15_000 });
    expect((await page.goto(`${ctx.cluster.apiUrl}/`))?.status()).toBe(200);
    await page.locator('tr[data-worker="gpu-0"]').waitFor({ timeout: 10_000 });
    await context.close();
  });

  it('runs Bull Board read-only when BULL_BOARD_READ_ONLY=true', async () => {
    const auth = { authorization: `Basic ${Buffer.from(`ops:${KEY}`).toString('base64')}` };
    const res = await fetch(`${ctx.cluster.apiUrl}/admin/queues/api/queues`, { headers: auth });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { queues: { name: string; readOnlyMode: boolean }[] };
    expect(body.queues.map((q) => q.name)).toContain('ingress');
    expect(body.queues.every((q) => q.readOnlyMode)).toBe(true);
  });
});
