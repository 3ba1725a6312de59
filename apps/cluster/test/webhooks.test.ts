import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { verifyWebhook, type SchedClient } from '@sched/client';
import { parseCatalog, type JobView } from '@sched/core';
import { TEST_WEBHOOK_SECRET, freePort, untilStatus } from '@sched/testkit';
import { useCluster } from './support.js';
import { useReceivers, type Hit } from './webhook-receiver.js';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 5, p99Ms: 8 } }, slow: { gpu: { p50Ms: 900, p99Ms: 900 } } },
  workers: [{ id: 'gpu-0', class: 'gpu', slots: 2 }],
});

const receiver = useReceivers();

async function webhookSettles(client: SchedClient, id: string, state: 'delivered' | 'failed', timeoutMs = 10_000): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await client.get(id);
    if (view.webhook?.state === state) return view;
    if (Date.now() > deadline) throw new Error(`webhook of ${id} is ${JSON.stringify(view.webhook)}, not ${state}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('webhooks to a loopback receiver (WEBHOOK_ALLOW_PRIVATE=true)', () => {
  const ctx = useCluster(fleet, { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_BACKOFF_MS: '20', WEBHOOK_RECHECK_MS: '300', WEBHOOK_TIMEOUT_MS: '1000' });

  it('POSTs the job view once, signed per Standard Webhooks, verifiable by the package and the client helper', async () => {
    const r = await receiver();
    const { client } = ctx;
    const { id } = await client.submit({ model: 'default', input: { n: 1 }, webhook: { url: r.url() } });
    const view = await webhookSettles(client, id, 'delivered');
    expect(view).toMatchObject({ status: 'completed', webhook: { state: 'delivered', attempts: 1, lastStatus: 204 } });
    expect(r.hits).toHaveLength(1);
    const hit = r.hits[0] as Hit;
    expect(hit.headers['content-type']).toBe('application/json');
    expect(hit.headers['webhook-id']).toBe(id);
    const signed = { 'webhook-id': String(hit.headers['webhook-id']), 'webhook-timestamp': String(hit.headers['webhook-timestamp']), 'webhook-signature': String(hit.headers['webhook-signature']) };
    const payload = new Webhook(TEST_WEBHOOK_SECRET).verify(hit.body, signed) as JobView;
    // The body is GET /v1/jobs/:id at the time of sending: the result, with the delivery still pending.
    expect(payload).toMatchObject({ id, status: 'completed', result: view.result, webhook: { state: 'pending', attempts: 0 } });
    expect(payload.timings).toEqual(view.timings);
    expect(verifyWebhook(TEST_WEBHOOK_SECRET, hit.body, hit.headers)).toEqual({ id, job: payload });
    // A tampered body or another secret does not verify.
    expect(() => verifyWebhook(TEST_WEBHOOK_SECRET, hit.body.replace('completed', 'failed'), hit.headers)).toThrow(/signature/i);
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(hit.body, signed)).toThrow();
    await new Promise((r) => setTimeout(r, 500));
    expect(r.hits).toHaveLength(1);
  });

  it('a receiver that answers 500 twice then 200 gets three attempts with the same webhook-id', async () => {
    const r = await receiver((n) => ({ status: n < 2 ? 500 : 200 }));
    const { client } = ctx;
    const { id } = await client.submit({ model: 'default', input: { n: 2 }, webhook: { url: r.url() } });
    const view = await webhookSettles(client, id, 'delivered');
    expect(view.webhook).toMatchObject({ state: 'delivered', attempts: 3, lastStatus: 200 });
    expect(view.webhook?.deliveredAt).toBeDefined();
    expect(r.hits.map((h) => h.headers['webhook-id'])).toEqual([id, id, id]);
    // Each attempt is signed afresh and verifies.
    for (const hit of r.hits) expect(verifyWebhook(TEST_WEBHOOK_SECRET, hit.body, hit.headers).id).toBe(id);
    // Backoff grows: the second retry waits longer than the first (20 ms, then ~100 ms, ±20 %).
    const [a, b, c] = r.hits.map((h) => h.at) as [number, number, number];
    expect(c - b).toBeGreaterThan(b - a);
  });

  it('shows retrying with the last status and error between attempts, and honours Retry-After', async () => {
    const r = await receiver((n) => (n === 0 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 }));
    const { client } = ctx;
    const { id } = await client.submit({ model: 'default', input: { n: 3 }, webhook: { url: r.url() } });
    const deadline = Date.now() + 5000;
    let view = await client.get(id);
    while (view.webhook?.state !== 'retrying' && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 10));
      view = await client.get(id);
    }
    expect(view.webhook).toMatchObject({ state: 'retrying', attempts: 1, lastStatus: 503, lastError: 'receiver answered 503' });
    await webhookSettles(client, id, 'delivered');
    const [first, second] = r.hits as [Hit, Hit];
    // Without Retry-After the first retry comes after ~20 ms.
    expect(second.at - first.at).toBeGreaterThanOrEqual(950);
  });

  it('a receiver down for a while still gets the delivery once it is up', async () => {
    const port = await freePort();
    const { client } = ctx;
    const { id } = await client.submit({ model: 'default', input: { n: 4 }, webhook: { url: `http://127.0.0.1:${port}/late` } });
    await untilStatus(client, id, 'completed');
    // Connection refused, retried with backoff.
    const deadline = Date.now() + 5000;
    let view = await client.get(id);
    while ((view.webhook?.attempts ?? 0) < 2 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 10));
      view = await client.get(id);
    }
    expect(view.webhook).toMatchObject({ state: 'retrying' });
    expect(view.webhook?.lastError).toMatch(/ECONNREFUSED/);
    expect(view.webhook?.lastStatus).toBeUndefined();
    await new Promise((res) => setTimeout(res, 300));
    const r = await receiver(undefined, port);
    const delivered = await webhookSettles(client, id, 'delivered', 15_000);
    expect(r.hits).toHaveLength(1);
    expect(r.hits[0]?.url).toBe('/late');
    expect(delivered.webhook?.attempts).toBeGreaterThanOrEqual(3);
  });

  it('410 stops retrying; redirects are not followed', async () => {
    const gone = await receiver(() => ({ status: 410 }));
    const target = await receiver(() => ({ status: 200 }));
    const redirect = await receiver(() => ({ status: 307, headers: { location: target.url('/moved') } }));
    const { client } = ctx;
    const { id: goneId } = await client.submit({ model: 'default', input: { n: 5 }, webhook: { url: gone.url() } });
    const { id: redirectId } = await client.submit({ model: 'default', input: { n: 6 }, webhook: { url: redirect.url() } });
    const view = await webhookSettles(client, goneId, 'failed');
    expect(view.webhook).toMatchObject({ state: 'failed', attempts: 1, lastStatus: 410 });
    await new Promise((r) => setTimeout(r, 600));
    expect(gone.hits).toHaveLength(1);
    // The redirecting receiver is retried (it did not answer 2xx), the target is never called.
    expect(redirect.hits.length).toBeGreaterThanOrEqual(2);
    expect(target.hits).toHaveLength(0);
    const redirected = (await client.get(redirectId)).webhook;
    expect(redirected?.lastStatus).toBe(307);
    expect(redirected?.lastError).toContain('redirects are not followed');
  });

  it('a job running longer than the re-check delay is delivered once, when it finishes', async () => {
    const r = await receiver();
    const { client } = ctx;
    const { id } = await client.submit({ model: 'slow', input: { n: 9 }, webhook: { url: r.url() } });
    await untilStatus(client, id, 'running');
    // The reserved delivery's safety net (300 ms) fires while the job runs: nothing is sent yet.
    await new Promise((res) => setTimeout(res, 500));
    expect(r.hits).toHaveLength(0);
    expect((await client.get(id)).webhook).toEqual({ state: 'pending', attempts: 0 });
    const view = await webhookSettles(client, id, 'delivered');
    expect(view.webhook?.attempts).toBe(1);
    const finishedAt = Date.parse(view.timings.finishedAt ?? '');
    // Released on completion, not at the next re-check.
    expect((r.hits[0]?.at ?? 0) - finishedAt).toBeLessThan(250);
    expect(r.hits).toHaveLength(1);
  });

  it('a failed job sends its webhook too, and a job without one shows no webhook field', async () => {
    const r = await receiver();
    const { client } = ctx;
    // A 1 ms deadline cannot be met: the dispatcher fails it without running it.
    const { id } = await client.submit({ model: 'default', input: { n: 7 }, deadlineMs: 1, webhook: { url: r.url() } });
    const view = await webhookSettles(client, id, 'delivered');
    expect(view).toMatchObject({ status: 'failed', error: { code: 'deadline_exceeded' } });
    const payload = verifyWebhook(TEST_WEBHOOK_SECRET, r.hits[0]?.body ?? '', r.hits[0]?.headers ?? {}).job;
    expect(payload).toMatchObject({ id, status: 'failed', error: { code: 'deadline_exceeded' } });
    const { id: plain } = await client.submit({ model: 'default', input: { n: 8 } });
    expect(await untilStatus(client, plain, 'completed')).not.toHaveProperty('webhook');
  });

  it('counts deliveries by outcome in sched_webhook_deliveries_total', async () => {
    const text = await (await fetch(`http://127.0.0.1:${ctx.cluster.dispatcher.metricsPort}/metrics`)).text();
    const count = (outcome: string): number => Number(new RegExp(`^sched_webhook_deliveries_total\\{outcome="${outcome}",app="dispatcher"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    expect(count('delivered')).toBeGreaterThanOrEqual(5);
    expect(count('retrying')).toBeGreaterThanOrEqual(4);
    expect(count('failed')).toBeGreaterThanOrEqual(1);
    expect(count('blocked')).toBe(0);
    expect(text).toMatch(/^sched_webhook_delivery_latency_seconds_count\{app="dispatcher"\} \d+$/m);
  });
});

describe('SSRF guard (private addresses not allowed)', () => {
  const ctx = useCluster(fleet, { WEBHOOK_BACKOFF_MS: '20', WEBHOOK_RECHECK_MS: '300' });

  it.each(['http://169.254.169.254/latest/meta-data', 'http://10.0.0.1/', 'http://[::1]/', 'http://127.0.0.1:9/', 'http://[::ffff:127.0.0.1]/', 'http://0x7f.1/', 'http://100.64.0.1/'])(
    'refuses %s at submit with 422',
    async (url) => {
      const res = await fetch(`${ctx.cluster.apiUrl}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'default', input: {}, webhook: { url } }),
      });
      expect(res.status).toBe(422);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const problem = (await res.json()) as { code: string; errors: { path: string }[] };
      expect(problem.code).toBe('webhook_url_forbidden');
      expect(problem.errors[0]?.path).toBe('webhook.url');
    },
  );

  it('blocks a hostname that resolves to 127.0.0.1 at delivery, without retrying', async () => {
    const r = await receiver();
    const { client } = ctx;
    const { id } = await client.submit({ model: 'default', input: {}, webhook: { url: `http://localhost:${r.port}/hook` } });
    const view = await webhookSettles(client, id, 'failed');
    expect(view.webhook).toMatchObject({ state: 'failed', attempts: 1 });
    expect(view.webhook?.lastError).toMatch(/not allowed.*127\.0\.0\.1/);
    await new Promise((res) => setTimeout(res, 300));
    expect(r.hits).toHaveLength(0);
    const text = await (await fetch(`http://127.0.0.1:${ctx.cluster.dispatcher.metricsPort}/metrics`)).text();
    expect(text).toMatch(/^sched_webhook_deliveries_total\{outcome="blocked",app="dispatcher"\} 1$/m);
  });
});
