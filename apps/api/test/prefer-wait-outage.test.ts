import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { parseCatalog, type JobAccepted } from '@sched/core';
import { useApi } from './use-api.js';

const fleet = parseCatalog({ models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }] });
const ctx = useApi(fleet);

describe('Prefer: wait when Redis fails during the wait', () => {
  it('answers 202 with the accepted job, not a 503 that would invite a duplicate, and applies no wait', async () => {
    // A deadline makes the wait read the job at its latest start (here ≈ 1 s in: 1005 ms − p50 5 ms), so it meets the outage then.
    const answer = fetch(`${ctx.cluster.apiUrl}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'wait=10' },
      body: JSON.stringify({ model: 'default', input: 1, deadlineMs: 1005 }),
    });
    await sleep(300);
    await ctx.redis.stop('SIGKILL');
    const started = performance.now();
    const res = await answer;
    try {
      expect(res.status).toBe(202);
      expect(performance.now() - started).toBeLessThan(2000);
      expect(res.headers.get('preference-applied')).toBeNull();
      const accepted = (await res.json()) as JobAccepted;
      expect(accepted).toMatchObject({ status: 'queued', model: 'default' });
      expect(res.headers.get('location')).toBe(`/v1/jobs/${accepted.id}`);
    } finally {
      await ctx.redis.restart();
    }
  });
});
