/**
 * The same scenario live (embedded redis-server + api + dispatcher + workers, driven by
 * the load client in its own process) and in the simulator. Policy `shared-queue` is the
 * plain-BullMQ baseline (bench/shared-queue-baseline.ts) live, and its model in the simulator: the same fleet, the same
 * Poisson arrivals (written once as a trace and replayed by both), the same policy code.
 *
 *   npx tsx --conditions=@sched/source bench/live-vs-sim.ts [--fleet heterogeneous] [--jobs 600]
 *       [--loads 0.5,0.8] [--policies greedy-gpu,sed,jsq,p2c] [--seed 1] [--overhead-ms 10] [--completion-lag-ms 5] [--shared-overhead-ms 4.5] [--split]
 *       [--traits-policies sed-late] [--priority-mix high=0.1,normal=0.8,low=0.1] [--deadline-ms 500=0.2]
 *
 * After the plain rows, a row per load and `--traits-policies` policy with priorities and deadlines:
 * each arrival gets its priority and deadline from the simulator's own trait stream for the seed
 * (`traitStream`), and the live side submits exactly those (this process replays the arrivals with
 * `@sched/client`, so use `--split` to keep the cluster off its CPU). `--traits-policies ''` skips them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient } from '@sched/client';
import { bundledFleetPath, loadCatalog, PRIORITIES, seededRng, type PolicyName, type Priority } from '@sched/core';
import { LatencyModel, type TraceArrival } from '@sched/exec';
import { buildArrivals, parseDeadlineMix, parsePriorityMix, simulate, summariseLatencies, traitStream, type JobTraits, type SimPolicyName } from '@sched/sim';
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
    /** Policies run again with priorities and deadlines (comma list; empty: none). */
    'traits-policies': { type: 'string', default: 'sed-late' },
    'priority-mix': { type: 'string', default: 'high=0.1,normal=0.8,low=0.1' },
    'deadline-ms': { type: 'string', default: '500=0.2' },
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

interface TraitsOutcome {
  readonly all: { p50: number; p99: number; mean: number; completed: number };
  readonly byPriority: Partial<Record<Priority, { p50: number; p99: number; completed: number }>>;
  readonly deadlineJobs: number;
  readonly misses: number;
}

const priorityMix = parsePriorityMix(values['priority-mix']);
const deadlines = parseDeadlineMix(values['deadline-ms']);

/** The traits of each arrival: the simulator's own stream for the seed. */
function traitsFor(count: number): JobTraits[] {
  const next = traitStream(seed, priorityMix, deadlines);
  return Array.from({ length: count }, () => next({ priority: 'normal', deadlineMs: undefined }));
}

/**
 * Replays `arrivals` with `traits` on a live cluster from this process (open loop, on schedule):
 * latency is submit → terminal view of each completed job, as the load client measures it.
 */
async function replayWithTraits(apiUrl: string, arrivals: readonly TraceArrival[], traits: readonly JobTraits[]): Promise<TraitsOutcome> {
  const client = createClient({ baseUrl: apiUrl, timeoutMs: 120_000 });
  const latencies = new Map<Priority, number[]>(PRIORITIES.map((p) => [p, []]));
  let misses = 0;
  const start = performance.now();
  const running: Promise<void>[] = [];
  for (const [i, arrival] of arrivals.entries()) {
    const due = start + arrival.t;
    const wait = due - performance.now();
    if (wait >= 1) await new Promise((r) => setTimeout(r, wait));
    const { priority, deadlineMs } = traits[i] as JobTraits;
    running.push(
      (async () => {
        const sent = performance.now();
        const { id } = await client.submit({ model: arrival.model, input: i, priority, ...(deadlineMs === undefined ? {} : { deadlineMs }) });
        const view = await client.wait(id, { timeoutS: 120 });
        if (view.status === 'completed') latencies.get(priority)?.push(performance.now() - sent);
        else if (view.error?.code === 'deadline_exceeded') misses++;
      })(),
    );
  }
  await Promise.all(running);
  await client.close();
  const byPriority: TraitsOutcome['byPriority'] = {};
  for (const [priority, list] of latencies) if (list.length > 0) byPriority[priority] = summarise(list);
  return { all: summarise([...latencies.values()].flat()), byPriority, deadlineJobs: traits.filter((t) => t.deadlineMs !== undefined).length, misses };
}

const traitPolicies = values['traits-policies'].split(',').filter((p) => p !== '') as PolicyName[];
if (traitPolicies.length > 0) {
  console.log(`\nWith priorities (${values['priority-mix']}) and deadlines (${values['deadline-ms']}): latencies of completed jobs; misses = failed deadline_exceeded\n`);
  console.log('| load | policy | live p50 | sim p50 | live p99 | sim p99 | Δ p99 | ' + PRIORITIES.map((p) => `${p} p99 live / sim`).join(' | ') + ' | misses live / sim |');
  console.log('|---:|---|---:|---:|---:|---:|---:|' + PRIORITIES.map(() => '---:').join('|') + '|---:|');
  for (const load of values.loads.split(',').map(Number)) {
    const arrivals = arrivalsFor(load);
    const traits = traitsFor(arrivals.length);
    const ratePerS = load * buildArrivals(fleet, latency, { load, jobs }).capacityPerS;
    for (const policy of traitPolicies) {
      const sim = simulate({
        fleet,
        policy,
        seed,
        arrivals: { kind: 'trace', arrivals, speed: 1 },
        pipelineOverheadMs: overheadMs,
        completionLagMs: Number(values['completion-lag-ms']),
        priorityMix,
        deadlines,
      });
      const bench = values.split ? await startSplitCluster(fleetPath, policy) : await startBenchCluster(fleetPath, policy);
      const apiUrl = 'apiUrl' in bench ? bench.apiUrl : bench.cluster.apiUrl;
      let l: TraitsOutcome;
      try {
        await runLoadClient(['open', '--rate', ratePerS.toFixed(2), '--duration', values['warmup-s']], apiUrl);
        l = await replayWithTraits(apiUrl, arrivals, traits);
      } finally {
        await bench.close();
      }
      const perPriority = PRIORITIES.map((p) => `${l.byPriority[p]?.p99.toFixed(1) ?? '–'} / ${sim.byPriority[p]?.p99Ms.toFixed(1) ?? '–'}`);
      console.log(
        `| ${load} | ${policy} | ${l.all.p50.toFixed(1)} | ${sim.p50Ms.toFixed(1)} | ${l.all.p99.toFixed(1)} | ${sim.p99Ms.toFixed(1)} | ${pct(l.all.p99, sim.p99Ms)} | ${perPriority.join(' | ')} | ${l.misses} / ${sim.deadlineMisses} of ${l.deadlineJobs} |`,
      );
    }
  }
}
rmSync(dir, { recursive: true, force: true });
