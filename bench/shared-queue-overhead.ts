/**
 * The plain-BullMQ baseline's own overhead (add → a worker picks it up → QueueEvents reports it
 * completed), measured without queueing: one 1-slot worker with a constant 50 ms job, one job every
 * 200 ms. Latency − 50 ms is what the simulator's `pipelineOverheadMs` stands for in this harness.
 *
 *   npx tsx --conditions=@sched/source bench/shared-queue-overhead.ts [jobs=100]
 */
import { parseCatalog } from '@sched/core';
import { summariseLatencies } from '@sched/sim';
import { runSharedQueueLive } from './shared-queue-baseline.js';

const jobs = Number(process.argv[2] ?? 100);
const fleet = parseCatalog({ models: { m: { gpu: { p50Ms: 50, p99Ms: 50 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }] });
const arrivals = Array.from({ length: jobs }, (_, i) => ({ t: i * 200, model: 'm' }));
const latencies = await runSharedQueueLive(fleet, arrivals, 1);
const s = summariseLatencies(Float64Array.from(latencies).sort());
console.log(`raw BullMQ, ${jobs} jobs of 50 ms, one at a time: overhead p50 ${(s.p50Ms - 50).toFixed(1)} ms, mean ${(s.meanMs - 50).toFixed(1)} ms, p99 ${(s.p99Ms - 50).toFixed(1)} ms`);
