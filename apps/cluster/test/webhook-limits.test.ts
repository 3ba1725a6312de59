import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { keySpace, parseCatalog } from '@sched/core';
import { RedisErrorLog, WebhookOutbox, createLogger, createRedis } from '@sched/runtime';
import { useCluster } from './support.js';
import { useReceivers, type Receiver } from './webhook-receiver.js';

const fleet = parseCatalog({ models: { default: { gpu: { p50Ms: 5, p99Ms: 8 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 4 }] });

/** A receiver answering every hit with `status`; null never answers (a black hole). */
const receivers = useReceivers();
const receiver = (status: number | null): Promise<Receiver> => receivers(() => (status === null ? null : { status }));

describe('a webhook whose retries outlast the job’s retention (RESULT_TTL_S)', () => {
  // Attempts at about 0, 0.5 s and 3 s; the job's result is kept 1 s.
  const ctx = useCluster(fleet, { WEBHOOK_ALLOW_PRIVATE: 'true', RESULT_TTL_S: '1', WEBHOOK_BACKOFF_MS: '500', WEBHOOK_MAX_ATTEMPTS: '3' });

  it('gets every attempt of the schedule, each with the same body; the final failure is recorded and counted', async () => {
    const { client } = ctx;
    const r = await receiver(500);
    const { id } = await client.submit({ model: 'default', input: { n: 1 }, webhook: { url: r.url() } });
    await expect.poll(() => r.hits.length, { timeout: 5000, interval: 20 }).toBeGreaterThanOrEqual(2);
    // Past the retention, another job's completion trims the first one: it is gone.
    await sleep(1200);
    await client.wait((await client.submit({ model: 'default', input: { n: 2 } })).id, { timeoutS: 5 });
    expect((await fetch(`${ctx.cluster.apiUrl}/v1/jobs/${id}`)).status).toBe(404);

    const redis = createRedis(ctx.redisUrl, 'service');
    const keys = keySpace(ctx.config.KEY_PREFIX);
    try {
      // The last attempt still comes, and its failure is written where the job view reads it.
      let record: Record<string, string> = {};
      const deadline = Date.now() + 10_000;
      while (record.state !== 'failed' && Date.now() < deadline) {
        record = await redis.hgetall(keys.webhookState(id));
        await sleep(20);
      }
      expect(record).toMatchObject({ state: 'failed', attempts: '3', lastStatus: '500', lastError: 'receiver answered 500' });
    } finally {
      redis.disconnect();
    }
    expect(r.hits).toHaveLength(3);
    const bodies = new Set(r.hits.map((h) => h.body));
    expect(bodies.size).toBe(1);
    expect((JSON.parse(r.hits[0]?.body ?? '{}') as { id: string; status: string }).status).toBe('completed');
    const failed = await ctx.cluster.dispatcher.registry.getSingleMetric('sched_webhooks_failed_total')?.get();
    const byReason = new Map(failed?.values.map((v) => [v.labels.reason, v.value]));
    expect(byReason.get('attempts_exhausted')).toBe(1);
    expect(byReason.get('expired')).toBe(0);
  });

  it('records and counts a delivery whose job was gone before its first attempt', async () => {
    const r = await receiver(204);
    // A delivery released for a job that no longer exists (its retention ended before the sender got to it).
    const redis = createRedis(ctx.redisUrl, 'service');
    const outbox = new WebhookOutbox(redis, ctx.config, new RedisErrorLog(createLogger('test', 'silent')));
    const id = randomUUID();
    try {
      await outbox.release(id, { webhook: { url: r.url() } });
      const keys = keySpace(ctx.config.KEY_PREFIX);
      await expect.poll(() => redis.hgetall(keys.webhookState(id)), { timeout: 10_000, interval: 20 }).toMatchObject({
        state: 'failed',
        lastError: 'the job expired before its webhook could be sent',
      });
    } finally {
      await outbox.close();
      redis.disconnect();
    }
    expect(r.hits).toHaveLength(0);
    const failed = await ctx.cluster.dispatcher.registry.getSingleMetric('sched_webhooks_failed_total')?.get();
    expect(failed?.values.find((v) => v.labels.reason === 'expired')?.value).toBe(1);
  });
});

describe('a black-holed receiver next to a working one (WEBHOOK_MAX_PER_RECEIVER)', () => {
  const ctx = useCluster(fleet, { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_CONCURRENCY: '4', WEBHOOK_MAX_PER_RECEIVER: '2', WEBHOOK_TIMEOUT_MS: '3000' });

  it('holds at most the cap of delivery slots; the working receiver gets its deliveries at once', async () => {
    const { client } = ctx;
    const hole = await receiver(null);
    const good = await receiver(204);
    await Promise.all(Array.from({ length: 8 }, (_, i) => client.submit({ model: 'default', input: { hole: i }, webhook: { url: hole.url() } })));
    await expect.poll(() => hole.hits.length, { timeout: 5000, interval: 10 }).toBeGreaterThanOrEqual(2);
    const sentAt = Date.now();
    const jobs = await Promise.all(Array.from({ length: 4 }, (_, i) => client.submit({ model: 'default', input: { good: i }, webhook: { url: good.url() } })));
    await expect.poll(() => good.hits.length, { timeout: 10_000, interval: 10 }).toBe(jobs.length);
    // Well within one attempt's timeout (3 s) of the black hole.
    expect(Math.max(...good.hits.map((h) => h.at)) - sentAt).toBeLessThan(1500);
    expect(hole.maxOpen).toBeLessThanOrEqual(2);
  });
});
