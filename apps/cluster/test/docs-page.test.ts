/// <reference lib="dom" />
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { jobViewSchema } from '@sched/core';
import { untilStatus } from '@sched/testkit';
import { ARTIFACTS, launchChromium } from './browser.js';
import { PRICED_FLEET, useCluster } from './support.js';

const ctx = useCluster(PRICED_FLEET);
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

/** "METHOD /path" of every operation in the served document. */
async function documentedOperations(apiUrl: string): Promise<string[]> {
  const spec = (await (await fetch(`${apiUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(spec.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
}

describe('the API docs at /docs', () => {
  it('renders every operation of /openapi.json in Swagger UI, loading nothing from another host', async () => {
    const origin = new URL(ctx.cluster.apiUrl).origin;
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const requested: string[] = [];
    const pageErrors: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    page.on('pageerror', (error) => pageErrors.push(error.message));

    expect((await page.goto(`${origin}/docs`))?.status()).toBe(200);
    await page.locator('.opblock').first().waitFor({ timeout: 15_000 });
    const rendered = await page.$$eval('.opblock', (blocks) =>
      blocks.map((block) => {
        const method = block.querySelector('.opblock-summary-method')?.textContent ?? '';
        const pathElement = block.querySelector('.opblock-summary-path');
        // Swagger UI puts zero-width spaces into long paths so they can wrap.
        const path = pathElement?.getAttribute('data-path') ?? pathElement?.textContent?.replace(/\u200b/g, '') ?? '';
        return `${method.trim()} ${path.trim()}`;
      }),
    );
    expect(rendered).toEqual(expect.arrayContaining(['POST /v1/jobs', 'GET /v1/jobs/{id}', 'DELETE /v1/jobs/{id}', 'GET /v1/jobs/{id}/events']));
    expect(rendered.sort()).toEqual((await documentedOperations(origin)).sort());

    // Opening an operation shows what the document says about it: its header, its error codes and their media type.
    const submit = page.locator('.opblock-post', { has: page.locator('[data-path="/v1/jobs"]') });
    await submit.locator('.opblock-summary').first().click();
    await submit.getByText('Idempotency-Key').first().waitFor({ timeout: 5_000 });
    await submit.locator('tr.response[data-code="422"]').waitFor({ timeout: 5_000 });
    expect(await submit.locator('option[value="application/problem+json"]').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, 'docs-page.png') });

    expect(pageErrors).toEqual([]);
    expect(requested).toEqual(expect.arrayContaining([`${origin}/openapi.json`, `${origin}/docs/assets/swagger-ui-bundle.js`, `${origin}/docs/assets/swagger-ui.css`]));
    // data: URLs (Swagger UI's inline icons) are no request to a host.
    expect(requested.filter((url) => !url.startsWith('data:') && new URL(url).origin !== origin)).toEqual([]);
    await page.close();
  });

  it('describes a finished job exactly as the API answers it', async () => {
    const { id } = await ctx.client.submit({ model: 'default', input: { prompt: 'hi' }, metadata: { run: 7 } });
    await untilStatus(ctx.client, id, 'completed');
    const view = await ctx.client.get(id);
    // A completed job carries what a queued one lacks: worker, result and every timing.
    expect(Object.keys(view)).toEqual(expect.arrayContaining(['worker', 'result', 'timings']));
    expect(Object.keys(view.timings)).toHaveLength(7);
    expect(jobViewSchema.parse(view)).toEqual(view);
  });
});
