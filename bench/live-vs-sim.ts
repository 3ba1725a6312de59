/**
 * The same scenario live (embedded redis-server + api + dispatcher + workers, driven by
 * the load client in its own process) and in the simulator. Policy `shared-queue` is the
 * plain-BullMQ baseline (bench/shared-queue-baseline.ts) live, and its model in the simulator: the same fleet, the same
 * Poisson arrivals (written once as a trace and replayed by both), the same policy code.
 *
 *   npx tsx --conditions=@sched/source bench/live-vs-sim.ts [--fleet heterogeneous] [--jobs 600]
 *       [--loads 0.5,0.8] [--policies greedy-gpu,sed,jsq,p2c] [--seed 1] [--overhead-ms 10] [--completion-lag-ms 5] [--shared-overhead-ms 4.5] [--split]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bundledFleetPath, loadCatalog, seededRng, type PolicyName } from '@sched/core';
import { LatencyModel, type TraceArrival } from '@sched/exec';
import { buildArrivals, simulate, summariseLatencies, type SimPolicyName } from '@sched/sim';
import { runLoadClient, startBenchCluster, startSplitCluster } from './bench-cluster.js';
import { runSharedQueueLive } from './shared-queue-baseline.js';


const { values } = parseArgs({
  options: {
    fleet: { type: 'string', default: 'heterogeneous' },
    jobs: { type: 'string', default: '600' },
    loads: { type: 'string', default: '0.5,0.8' },
    policies: { type: 'string', default: 'greedy-gpu,sed,jsq,p2c,shared-queue' },
    seed: { type: 'string', default: '1' },
    'overhead-ms': { type: 'string', default: '10' },
    /**
     * Delay before the dispatcher hears of a completion, in the simulator: for `sed-late` it is the
     * idle time of a slot until the next held job reaches it (bench/bind-gap.ts measured a mean of
     * about 5 ms on this machine without prefetch).
     */
    'completion-lag-ms': { type: 'string', default: '5' },
    /** The raw BullMQ harness's own overhead (add → pick-up → QueueEvents), bench/shared-queue-overhead.ts: mean 4.5 ms. */
    'shared-overhead-ms': { type: 'string', default: '4.5' },
    /** Run api, dispatcher and worker host as three processes (a deployment's shape) instead of one. */
    split: { type: 'boolean', default: false },
    /** Seconds of open load at the run's own rate before the measured replay (JIT, connections, Lua scripts). */
    'warmup-s': { type: 'string', default: '5' },
  },
});
const fleetName = values.fleet as 'default' | 'prototype' | 'heterogeneous';
const fleetPath = bundledFleetPath(fleetName);
const fleet = loadCatalog(fleetPath);
const latency = new LatencyModel(fleet.models);
const jobs = Number(values.jobs);
const seed = Number(values.seed);
const overheadMs = Number(values['overhead-ms']);
const dir = mkdtempSync(join(tmpdir(), 'live-vs-sim-'));

/** Poisson arrivals of model `default` at `load` × capacity, as a trace both sides replay. */
function arrivalsFor(load: number): TraceArrival[] {
  const { capacityPerS } = buildArrivals(fleet, latency, { load, jobs });
  const rng = seededRng(seed);
  const meanGapMs = 1000 / (load * capacityPerS);
  const out: TraceArrival[] = [];
  let t = 0;
  for (let i = 0; i < jobs; i++) {
    t += -Math.log(1 - rng()) * meanGapMs;
    out.push({ t: Math.round(t * 1000) / 1000, model: 'default' });
  }
  return out;
}

/** The measured replay, after the same rate of load for a few seconds (warm JIT, Lua scripts, worker queues). */
async function live(policy: PolicyName, tracePath: string, ratePerS: number): Promise<{ p50: number; p99: number; mean: number; completed: number }> {
  const bench = values.split ? await startSplitCluster(fleetPath, policy) : await startBenchCluster(fleetPath, policy);
  const apiUrl = 'apiUrl' in bench ? bench.apiUrl : bench.cluster.apiUrl;
  try {
    // A 40-job burst was not enough: a freshly started process needs seconds of load before its p99
    // settles (in three processes: p99 1.3 s in the first 5 s at 140 jobs/s, 0.2 s after).
    await runLoadClient(['open', '--rate', ratePerS.toFixed(2), '--duration', values['warmup-s']], apiUrl);
    const report = await runLoadClient<{ completed: number; latencyMs: { p50: number; p99: number; mean: number } }>(['replay', '--trace', tracePath], apiUrl);
    return { ...report.latencyMs, completed: report.completed };
  } finally {
    await bench.close();
  }
}

function summarise(latencies: number[]): { p50: number; p99: number; mean: number; completed: number } {
  const summary = summariseLatencies(Float64Array.from(latencies));
  return { p50: summary.p50Ms, p99: summary.p99Ms, mean: summary.meanMs, completed: latencies.length };
}

const pct = (a: number, b: number): string => `${(((a - b) / b) * 100).toFixed(0)} %`;
console.log(`fleet ${fleetName}, ${jobs} Poisson jobs per run, seed ${seed}, simulated pipeline overhead ${overheadMs} ms and completion lag ${values['completion-lag-ms']} ms, live cluster ${values.split ? 'as 3 processes' : 'in one process'}\n`);
console.log('| load | policy | live p50 | sim p50 | Δ p50 | live mean | sim mean | live p99 | sim p99 | Δ p99 | live done |');
console.log('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const load of values.loads.split(',').map(Number)) {
  const arrivals = arrivalsFor(load);
  const tracePath = join(dir, `load-${load}.jsonl`);
  writeFileSync(tracePath, arrivals.map((a) => JSON.stringify(a)).join('\n'));
  for (const policy of values.policies.split(',') as SimPolicyName[]) {
    // The plain-BullMQ baseline has no HTTP hop or dispatcher: it is simulated with its own, smaller, measured overhead.
    const sim = simulate({
      fleet,
      policy,
      seed,
      arrivals: { kind: 'trace', arrivals, speed: 1 },
      pipelineOverheadMs: policy === 'shared-queue' ? Number(values['shared-overhead-ms']) : overheadMs,
      completionLagMs: Number(values['completion-lag-ms']),
    });
    const ratePerS = load * buildArrivals(fleet, latency, { load, jobs }).capacityPerS;
    const l = policy === 'shared-queue' ? summarise(await runSharedQueueLive(fleet, arrivals, seed)) : await live(policy, tracePath, ratePerS);
    console.log(
      `| ${load} | ${policy} | ${l.p50.toFixed(1)} | ${sim.p50Ms.toFixed(1)} | ${pct(l.p50, sim.p50Ms)} | ${l.mean.toFixed(1)} | ${sim.meanMs.toFixed(1)} | ${l.p99.toFixed(1)} | ${sim.p99Ms.toFixed(1)} | ${pct(l.p99, sim.p99Ms)} | ${l.completed}/${jobs} |`,
    );
  }
}
rmSync(dir, { recursive: true, force: true });
