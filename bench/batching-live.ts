/**
 * Live throughput gain from dynamic batching on the gpu class at saturation: the same fleet
 * (2 gpu × 1 slot, ~200 ms per job alone, batchAlpha 0.15) with and without batching
 * (maxBatch 8, maxQueueDelayMs 10), saturated by a closed loop of clients that each submit a
 * job and long-poll it, then the next; alternating rounds. Jobs are long so the pipeline's own
 * CPU stays far from the limit and the workers are what saturates. The simulator's figure for the
 * same fleet is printed beside it.
 *
 *   npx tsx --conditions=@sched/source bench/batching-live.ts [--clients 48] [--seconds 20] [--rounds 2]
 */
import { parseArgs } from 'node:util';
import { parseCatalog } from '@sched/core';
import { LatencyModel } from '@sched/exec';
import { buildArrivals, simulate, summariseLatencies } from '@sched/sim';
import { closedLoop, startSplitCluster, tempFleetFile } from './bench-cluster.js';

const { values } = parseArgs({
  options: { clients: { type: 'string', default: '48' }, seconds: { type: 'string', default: '20' }, rounds: { type: 'string', default: '2' }, warmup: { type: 'string', default: '5' } },
});
const clients = Number(values.clients);
const seconds = Number(values.seconds);
const models = { default: { gpu: { p50Ms: 200, p99Ms: 260, batchAlpha: 0.15 } } };
const fleets = {
  none: { models, workers: [0, 1].map((i) => ({ id: `gpu-${i}`, class: 'gpu', slots: 1 })) },
  'maxBatch 8': { models, workers: [0, 1].map((i) => ({ id: `gpu-${i}`, class: 'gpu', slots: 1, maxBatch: 8, maxQueueDelayMs: 10 })) },
};

console.log(`closed loop of ${clients} clients, ${seconds} s per round after ${values.warmup} s warm-up; 2 gpu × 1 slot, ~200 ms alone, batchAlpha 0.15; api, dispatcher, worker host as 3 processes\n`);
console.log('| round | batching | live jobs/s | live p50 | live p99 | simulated jobs/s (saturated) |');
console.log('|---:|---|---:|---:|---:|---:|');
const totals: Record<string, number[]> = { none: [], 'maxBatch 8': [] };
for (let round = 1; round <= Number(values.rounds); round++) {
  for (const [name, spec] of Object.entries(fleets)) {
    const fleetFile = tempFleetFile('batching-live', spec);
    const fleet = parseCatalog(spec);
    // Offered 10× the unbatched capacity: saturated with batching too.
    const { spec: arrivals } = buildArrivals(fleet, new LatencyModel(fleet.models), { load: 10, jobs: 20_000 });
    const sim = simulate({ fleet, policy: 'sed', seed: round, arrivals });
    const cluster = await startSplitCluster(fleetFile.path, 'sed');
    try {
      await closedLoop(cluster.apiUrl, { clients, ms: Number(values.warmup) * 1000, model: 'default' });
      const { inWindow } = await closedLoop(cluster.apiUrl, { clients, ms: seconds * 1000, model: 'default' });
      // Jobs that finished inside the window over the window; the drain after it is not counted.
      const rate = inWindow.length / seconds;
      const live = summariseLatencies(Float64Array.from(inWindow, (v) => v.timings.totalMs ?? Number.NaN));
      totals[name]?.push(rate);
      console.log(`| ${round} | ${name} | ${rate.toFixed(1)} | ${live.p50Ms.toFixed(0)} ms | ${live.p99Ms.toFixed(0)} ms | ${sim.throughput.toFixed(1)} |`);
    } finally {
      await cluster.close();
      fleetFile.remove();
    }
  }
}
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`\nlive gain with batching: ${(mean(totals['maxBatch 8'] ?? []) / mean(totals.none ?? [])).toFixed(2)}×`);
