import { PRIORITIES } from '@sched/core';
import type { SimResult } from './sim-types.js';

const ms = (value: number): string => (value >= 10_000 ? `${(value / 1000).toFixed(1)}s` : value >= 100 ? value.toFixed(0) : value.toFixed(1));

/**
 * One line per run: p50 / p99 per priority, and the deadline misses (jobs failed
 * `deadline_exceeded`, never run) out of the jobs that carried a deadline.
 */
export function formatPrioritySummary(results: readonly SimResult[]): string {
  const width = Math.max(...results.map((r) => r.policy.length));
  return results
    .map((r) => {
      const parts = PRIORITIES.flatMap((p) => {
        const s = r.byPriority[p];
        return s === undefined ? [] : [`${p} ${ms(s.p50Ms)} / ${ms(s.p99Ms)}`];
      });
      const misses = r.deadlineJobs === 0 ? 'no deadlines' : `deadline misses ${r.deadlineMisses}/${r.deadlineJobs} (${((r.deadlineMisses / r.deadlineJobs) * 100).toFixed(1)} %)`;
      return `${r.policy.padStart(width)}  p50 / p99 ms: ${parts.join(' · ')} · ${misses}`;
    })
    .join('\n');
}
