import { describe, expect, it } from 'vitest';
import { parseCatalog } from '@sched/core';
import { useSeededCluster } from './support.js';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } },
  workers: [{ id: 'flaky-0', class: 'gpu', slots: 4, failureRate: 0.5 }],
});

// The worker host gets a seeded rng, so which runs fail is the same every time.
const ctx = useSeededCluster(fleet, 7, { MAX_ATTEMPTS: '12', RETRY_BACKOFF_MS: '5' });

describe('a worker that fails half its runs', () => {
  it('still completes every job within MAX_ATTEMPTS, retrying in the same worker queue', async () => {
    const { client } = ctx;
    const accepted = await Promise.all(Array.from({ length: 30 }, (_, i) => client.submit({ model: 'default', input: i })));
    const views = await Promise.all(accepted.map(({ id }) => client.wait(id, { timeoutS: 20 })));
    expect(views.map((v) => v.status)).toEqual(accepted.map(() => 'completed'));
    const attempts = views.map((v) => v.attempts);
    expect(Math.max(...attempts)).toBeGreaterThan(1);
    expect(Math.max(...attempts)).toBeLessThanOrEqual(12);
    // Every attempt after the first is a retry: about half of all runs failed.
    const runs = attempts.reduce((a, b) => a + b, 0);
    expect(runs - views.length).toBeGreaterThan(views.length * 0.4);
  });
});
