import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { INGRESS_QUEUE, workerQueueName } from '@sched/core';
import { useTestCluster } from '@sched/testkit/fixtures';
import { startLocalCluster } from '../src/index.js';
import { ARTIFACTS, launchChromium } from './browser.js';
import { PRICED_FLEET } from './support.js';

const TENANT = 'tenant-key-0123456789';
const ADMIN = 'admin-key-0123456789';
const ctx = useTestCluster((config) => startLocalCluster(config, { fleet: PRICED_FLEET }), {
  env: { API_KEYS: TENANT, ADMIN_API_KEYS: ADMIN },
  client: { apiKey: TENANT },
});
let browser: Browser;
let redis: Redis;
let ingress: Queue;
/** A completed job of the tenant's, and the worker queue it ran in. */
let done: { id: string; queue: string };

beforeAll(async () => {
  const { id } = await ctx.client.submit({ model: 'default', input: { secret: 'tenant input' } });
  const view = await ctx.client.wait(id, { timeoutS: 10 });
  done = { id, queue: workerQueueName(view.worker?.id ?? '') };
  browser = await launchChromium();
  redis = new Redis(ctx.redisUrl, { maxRetriesPerRequest: null });
  ingress = new Queue(INGRESS_QUEUE, { connection: redis, prefix: ctx.config.KEY_PREFIX });
});
afterAll(async () => {
  await ingress?.close();
  redis?.disconnect();
  await browser?.close();
});

const basic = (key: string): string => `Basic ${Buffer.from(`ops:${key}`).toString('base64')}`;
function board(method: string, path: string, key: string, body?: unknown): Promise<Response> {
  return fetch(`${ctx.cluster.apiUrl}/admin/queues/api${path}`, {
    method,
    headers: { authorization: basic(key), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}
async function expectForbidden(res: Response, what: string): Promise<void> {
  expect(res.status, what).toBe(403);
  expect(res.headers.get('content-type'), what).toMatch(/^application\/problem\+json/);
  expect(((await res.json()) as { code: string }).code, what).toBe('forbidden');
}

/** The ingress queue's page, with its actions menu opened when the board offers one. */
async function openIngress(key: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ httpCredentials: { username: 'ops', password: key } });
  const page = await context.newPage();
  expect((await page.goto(`${ctx.cluster.apiUrl}/admin/queues/queue/ingress`))?.status()).toBe(200);
  await page.getByText('LATEST', { exact: true }).first().waitFor({ timeout: 15_000 });
  // The sidebar and the queue's status tabs render first; the actions menu (when there is one) with them.
  await page.getByText('worker.gpu-0', { exact: true }).first().waitFor({ timeout: 15_000 });
  const trigger = page.locator('main button[aria-haspopup="menu"]');
  if ((await trigger.count()) > 0) await trigger.first().click();
  return { context, page };
}

describe('Bull Board roles in headless Chromium', () => {
  it('gives a non-admin key a read-only board: no mutation buttons, no job inputs, and every mutation refused (403)', async () => {
    const { context, page } = await openIngress(TENANT);
    await page.screenshot({ path: join(ARTIFACTS, 'bull-board-read-only.png'), fullPage: true });
    for (const action of ['Pause', 'Add job', 'Empty', 'Obliterate', 'Retry all', 'Clean all']) {
      expect(await page.getByRole('menuitem', { name: action }).count(), action).toBe(0);
      expect(await page.getByRole('button', { name: action, exact: true }).count(), action).toBe(0);
    }
    await context.close();

    const listed = await board('GET', `/queues?activeQueue=${done.queue}&status=completed`, TENANT);
    expect(listed.status).toBe(200);
    const text = await listed.text();
    expect(text).toContain(done.id);
    expect(text).not.toContain('tenant input');
    expect(text).toContain('shown to admin keys only');

    await expectForbidden(await board('PUT', '/queues/ingress/pause', TENANT), 'pause');
    await expectForbidden(await board('PUT', '/queues/pause', TENANT), 'pause all');
    await expectForbidden(await board('POST', '/queues/ingress/add', TENANT, { name: 'job', data: {}, options: {} }), 'add');
    await expectForbidden(await board('PUT', `/queues/${done.queue}/${done.id}/retry`, TENANT), 'retry');
    await expectForbidden(await board('PUT', '/queues/ingress/obliterate', TENANT), 'obliterate');
    expect(await ingress.isPaused()).toBe(false);
    expect(await ingress.count()).toBe(0);
  });

  it('lets an admin pause and resume a queue from the board, but never add a job or run a completed one again', async () => {
    const { context, page } = await openIngress(ADMIN);
    await page.getByRole('menuitem', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => ingress.isPaused(), { timeout: 10_000 }).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'bull-board-admin-paused.png'), fullPage: true });
    await page.reload();
    await page.getByText('LATEST', { exact: true }).first().waitFor({ timeout: 15_000 });
    await page.locator('main button[aria-haspopup="menu"]').first().click();
    await page.getByRole('menuitem', { name: 'Resume' }).click();
    // Resuming may ask for confirmation too.
    const confirm = page.getByRole('button', { name: 'Confirm' });
    await confirm.waitFor({ timeout: 2000 }).then(() => confirm.click(), () => undefined);
    await expect.poll(() => ingress.isPaused(), { timeout: 10_000 }).toBe(false);
    await context.close();

    await expectForbidden(await board('POST', '/queues/ingress/add', ADMIN, { name: 'job', data: { model: 'default' }, options: {} }), 'add');
    await expectForbidden(await board('PATCH', `/queues/${done.queue}/${done.id}/update-data`, ADMIN, { data: {} }), 'update data');
    await expectForbidden(await board('PUT', `/queues/${done.queue}/${done.id}/retry`, ADMIN), 'retry a completed job');
    await expectForbidden(await board('PUT', `/queues/${done.queue}/retry/completed`, ADMIN), 'retry all completed');
    expect(await ingress.count()).toBe(0);
    // The job ran once and stays completed.
    expect((await ctx.client.get(done.id)).status).toBe('completed');
  });
});
