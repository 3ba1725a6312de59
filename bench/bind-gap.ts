/**
 * How long a slot stands idle between one job and the next on a saturated worker, live:
 * with `sed` the next job is already in the worker's queue (BullMQ hands it over as the last
 * one finishes); with `sed-late` it is bound only after the completion reaches the dispatcher
 * (pub/sub, a round, the queue add, the worker's fetch). This gap is what the simulator's
 * `completionLagMs` models for a late-binding policy.
 *
 *   npx tsx --conditions=@sched/source bench/bind-gap.ts [--seconds 10] [--clients 16]
 */
import { parseArgs } from 'node:util';
import type { JobView } from '@sched/core';
import { percentile } from '@sched/sim';
import { closedLoop, startSplitCluster, tempFleetFile } from './bench-cluster.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, clients: { type: 'string', default: '16' } } });
const fleet = tempFleetFile('bind-gap', {
  models: { default: { gpu: { p50Ms: 50, p99Ms: 50 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 1 },
    { id: 'gpu-1', class: 'gpu', slots: 1 },
  ],
});

function gaps(views: readonly JobView[]): Float64Array {
  const byWorker = new Map<string, JobView[]>();
  for (const v of views) {
    const id = v.worker?.id;
    if (id === undefined || v.timings.startedAt === undefined || v.timings.finishedAt === undefined) continue;
    const list = byWorker.get(id);
    if (list === undefined) byWorker.set(id, [v]);
    else list.push(v);
  }
  const out: number[] = [];
  for (const list of byWorker.values()) {
    list.sort((a, b) => Date.parse(a.timings.startedAt ?? '') - Date.parse(b.timings.startedAt ?? ''));
    for (let i = 1; i < list.length; i++) {
      const gap = Date.parse(list[i]?.timings.startedAt ?? '') - Date.parse(list[i - 1]?.timings.finishedAt ?? '');
      if (gap >= 0) out.push(gap);
    }
  }
  return Float64Array.from(out).sort();
}

const clients = Number(values.clients);
const ms = Number(values.seconds) * 1000;
console.log(`2 gpu × 1 slot, 50 ms jobs, closed loop of ${clients} clients (saturated), ${values.seconds} s after 3 s warm-up, three processes\n`);
console.log('| policy | jobs/s | idle gap p50 | p90 | p99 | gaps |');
console.log('|---|---:|---:|---:|---:|---:|');
try {
  for (const [label, policy, prefetch] of [
    ['sed', 'sed', '1'],
    ['sed-late, SED_LATE_PREFETCH=0', 'sed-late', '0'],
    ['sed-late, SED_LATE_PREFETCH=1 (default)', 'sed-late', '1'],
  ] as const) {
    const cluster = await startSplitCluster(fleet.path, policy, { SED_LATE_PREFETCH: prefetch });
    try {
      await closedLoop(cluster.apiUrl, { clients, ms: 3000, model: 'default' });
      const { inWindow } = await closedLoop(cluster.apiUrl, { clients, ms, model: 'default' });
      const g = gaps(inWindow);
      const f = (q: number): string => percentile(g, q * 100).toFixed(1);
      console.log(`| ${label} | ${(inWindow.length / (ms / 1000)).toFixed(1)} | ${f(0.5)} ms | ${f(0.9)} ms | ${f(0.99)} ms | ${g.length} |`);
    } finally {
      await cluster.close();
    }
  }
} finally {
  fleet.remove();
}
