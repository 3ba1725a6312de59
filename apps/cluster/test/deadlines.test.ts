import { describe, expect, it } from 'vitest';
import { parseCatalog } from '@sched/core';
import { readJob, submitJob, until, useCluster } from './support.js';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 100, p99Ms: 100 }, cpu: { p50Ms: 1000, p99Ms: 1000 } }, slow: { gpu: { p50Ms: 1200, p99Ms: 1200 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 1 },
    { id: 'cpu-0', class: 'cpu', slots: 1 },
  ],
});

/** A 1.2 s gpu-only job running, and one behind it that must finish within 1.5 s: it would have to start within 300 ms. */
async function lateBehindBlocker(apiUrl: string): Promise<{ blocker: string; late: string; submittedAt: number }> {
  const blocker = await submitJob(apiUrl, { model: 'slow', input: 'blocker' });
  await until(apiUrl, blocker, 'running');
  const submittedAt = Date.now();
  const late = await submitJob(apiUrl, { model: 'slow', input: 'late', deadlineMs: 1500 });
  return { blocker, late, submittedAt };
}

describe('deadlines (deadlineMs: the latency the client needs)', () => {
  describe('under sed', () => {
    const ctx = useCluster(fleet, { SCHED_POLICY: 'sed' });

    it('reads as failed deadline_exceeded once the job can no longer start in time, and is never run', async () => {
      const c = ctx.cluster;
      const { blocker, late, submittedAt } = await lateBehindBlocker(c.apiUrl);
      // Routed to the gpu's queue within a few ms (a read right after the 202 may still see it queued).
      await until(c.apiUrl, late, 'dispatched', 250);
      const expired = await readJob(c.apiUrl, late, 5);
      expect(expired.status).toBe('failed');
      expect(expired.error?.code).toBe('deadline_exceeded');
      // The long-poll saw it when it expired (about 300 ms in), not when the worker got to it.
      expect(Date.now() - submittedAt).toBeLessThan(800);
      // Still waiting in the queue when it expired; once picked up it is skipped, not run.
      expect((await readJob(c.apiUrl, blocker, 10)).status).toBe('completed');
      await new Promise((r) => setTimeout(r, 300));
      const final = await readJob(c.apiUrl, late);
      expect(final.status).toBe('failed');
      expect(final.error?.code).toBe('deadline_exceeded');
      expect(final.result).toBeUndefined();
      expect(final.timings.serviceMs ?? 0).toBeLessThan(50);
    });
  });

  describe('under greedy-gpu', () => {
    const ctx = useCluster(fleet, { SCHED_POLICY: 'greedy-gpu' });

    it('never routes to a worker that would miss the deadline when another can make it, whatever the policy', async () => {
      const c = ctx.cluster;
      const first = await submitJob(c.apiUrl, { model: 'default', input: 1 });
      await until(c.apiUrl, first, 'running');
      // greedy-gpu alone would take the idle cpu (1 s); waiting ~100 ms for the gpu meets 600 ms.
      const view = await readJob(c.apiUrl, await submitJob(c.apiUrl, { model: 'default', input: 2, deadlineMs: 600 }), 10);
      expect(view.status).toBe('completed');
      expect(view.worker?.id).toBe('gpu-0');
      // Without a deadline the same policy still overflows to the cpu.
      const third = await submitJob(c.apiUrl, { model: 'default', input: 3 });
      await until(c.apiUrl, third, 'running');
      const overflow = await readJob(c.apiUrl, await submitJob(c.apiUrl, { model: 'default', input: 4 }), 10);
      expect(overflow.worker?.id).toBe('cpu-0');
    });
  });

  describe('under sed-late without prefetch (jobs wait in the dispatcher)', () => {
    const ctx = useCluster(fleet, { SCHED_POLICY: 'sed-late', SED_LATE_PREFETCH: '0' });

    it('fails a held job deadline_exceeded at its latest start; it is never bound to a worker', async () => {
      const c = ctx.cluster;
      // Held while the gpu runs the blocker.
      const { blocker, late, submittedAt } = await lateBehindBlocker(c.apiUrl);
      const expired = await readJob(c.apiUrl, late, 5);
      expect(expired.status).toBe('failed');
      expect(expired.error?.code).toBe('deadline_exceeded');
      expect(expired.worker).toBeUndefined();
      // At its latest start (300 ms), give or take a round (FLEET_REFRESH_MS is 200 here).
      expect(Date.now() - submittedAt).toBeGreaterThanOrEqual(290);
      expect(Date.now() - submittedAt).toBeLessThan(800);
      expect((await readJob(c.apiUrl, blocker, 10)).status).toBe('completed');
      const final = await readJob(c.apiUrl, late);
      expect(final.status).toBe('failed');
      expect(final.error?.code).toBe('deadline_exceeded');
      expect(final.worker).toBeUndefined();
      expect(final.timings.startedAt).toBeUndefined();
    });
  });
});
