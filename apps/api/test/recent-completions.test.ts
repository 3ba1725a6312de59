import { describe, expect, it } from 'vitest';
import { RecentCompletions, WINDOW_MS } from '../src/recent-completions.js';

describe('RecentCompletions (the fleet page statistics)', () => {
  it('summarises the last minute: throughput, p99 and share per worker', () => {
    const recent = new RecentCompletions(0);
    for (let i = 0; i < 100; i++) {
      recent.record({ id: `j${i}`, status: 'completed', worker: i < 75 ? 'gpu-0' : 'cpu-0', at: 1000 + i * 100, totalMs: i + 1 });
    }
    recent.record({ id: 'x', status: 'running', worker: 'gpu-0', at: 5000 });
    const summary = recent.summary(11_000);
    expect(summary.jobs).toBe(100);
    expect(summary.throughputPerS).toBeCloseTo(100 / 11, 5);
    expect(summary.p99Ms).toBe(99);
    expect(summary.shareByWorker.gpu).toBeUndefined();
    expect(summary.shareByWorker['gpu-0']).toBeCloseTo(0.75, 10);
  });

  it('forgets what is older than the window', () => {
    const recent = new RecentCompletions(0);
    recent.record({ id: 'old', status: 'completed', worker: 'gpu-0', at: 1000, totalMs: 5 });
    recent.record({ id: 'new', status: 'completed', worker: 'cpu-0', at: WINDOW_MS + 2000, totalMs: 7 });
    const summary = recent.summary(WINDOW_MS + 2000);
    expect(summary.jobs).toBe(1);
    expect(summary.shareByWorker).toEqual({ 'cpu-0': 1 });
    expect(new RecentCompletions(0).summary(5000).p99Ms).toBeNull();
  });
});
