import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog, type JobView } from '@sched/core';
import { createRedis } from '@sched/runtime';
import { WebhookSink } from '@sched/testkit';
import { useCluster } from './support.js';

// Redis full (`maxmemory` reached under `noeviction`): every write is refused with OOM while jobs
// are being dispatched, run and finished. Nothing may crash, the API says 503, and once memory is
// back every job it accepted completes.

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 150, p99Ms: 200 } } },
  workers: [{ id: 'gpu-0', class: 'gpu', slots: 2 }],
});
const ctx = useCluster(fleet, { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_BACKOFF_MS: '100' });
let sink: WebhookSink;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  sink = await WebhookSink.start();
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await sink.close();
});

async function post(input: unknown): Promise<Response> {
  return fetch(`${ctx.cluster.apiUrl}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'default', input, webhook: { url: sink.url() } }) });
}

describe('Redis out of memory (maxmemory 1mb, noeviction)', () => {
  it('keeps every process up, answers 503 with Retry-After, and completes every accepted job once memory is back', async () => {
    const admin = createRedis(ctx.redisUrl, 'service');
    const accepted: string[] = [];
    const submitBurst = async (n: number, from: number): Promise<number[]> => {
      const answers = await Promise.all(Array.from({ length: n }, (_, i) => post(from + i)));
      const statuses: number[] = [];
      for (const res of answers) {
        statuses.push(res.status);
        if (res.status === 202) accepted.push(((await res.json()) as { id: string }).id);
        else {
          expect(res.status).toBe(503);
          expect(res.headers.get('content-type')).toMatch(/problem\+json/);
          expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
          expect(((await res.json()) as { code: string }).code).toBe('redis_unavailable');
        }
      }
      return statuses;
    };
    try {
      // Jobs in every stage (queued, dispatched, running) when Redis fills up.
      expect(await submitBurst(30, 0)).toEqual(Array.from({ length: 30 }, () => 202));
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1mb');
      // Fill whatever is left, until Redis refuses a write.
      const filler = 'x'.repeat(64 * 1024);
      for (let i = 0; ; i++) {
        const refused = await admin.set(`filler:${i}`, filler).then(
          () => false,
          (error: unknown) => /OOM/.test(String(error)),
        );
        if (refused) break;
      }
      const whileFull = await submitBurst(10, 100);
      expect(whileFull.filter((s) => s === 503).length).toBeGreaterThan(0);
      // Full for longer than a dispatch's retries (and a worker lock) last.
      await sleep(4000);
      expect((await fetch(`${ctx.cluster.apiUrl}/healthz`)).status).toBe(200);
      await admin.config('SET', 'maxmemory', '0');
      const views = await Promise.all(accepted.map((id) => ctx.client.wait(id, { timeoutS: 30 })));
      const notCompleted = views.filter((v: JobView) => v.status !== 'completed').map((v) => `${v.id}: ${v.status} ${v.error?.message ?? ""} attempts ${v.attempts}`);
      expect(notCompleted).toEqual([]);
      // Every webhook goes out too (its delivery is reserved before the job can finish).
      await expect.poll(() => sink.received, { timeout: 15_000, interval: 100 }).toBeGreaterThanOrEqual(accepted.length);
      expect(unhandled).toEqual([]);
    } finally {
      await admin.config('SET', 'maxmemory', '0').catch(() => undefined);
      admin.disconnect();
    }
  });
});
