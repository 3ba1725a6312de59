/**
 * The simulator measurements of issue 3, printed as Markdown:
 * both fleets × loads × every policy and shared-queue; cost vs sed; batching gain;
 * sed-late under the live dispatcher's held-job cap; priorities and deadlines.
 *
 *   npx tsx --conditions=@sched/source bench/sim-matrix.ts [jobs=200000] [seed=1]
 */
import { bundledFleetPath, loadCatalog, POLICY_NAMES, PRIORITIES, type Catalog } from '@sched/core';
import { LatencyModel } from '@sched/exec';
import { buildArrivals, parseDeadlineMix, parsePriorityMix, simulate, type SimPolicyName, type SimResult } from '@sched/sim';

const JOBS = Number(process.argv[2] ?? 200_000);
const SEED = Number(process.argv[3] ?? 1);
const LOADS = [0.3, 0.5, 0.8, 0.95];
const POLICIES: SimPolicyName[] = [...POLICY_NAMES, 'shared-queue'];
const SLO_MS = 500;

const f = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms.toFixed(ms >= 100 ? 0 : 1));
const pct = (x: number | undefined): string => `${((x ?? 0) * 100).toFixed(0)} %`;

function run(fleet: Catalog, policy: SimPolicyName, load: number, extra: Partial<Parameters<typeof simulate>[0]> = {}): SimResult {
  const arrivals = buildArrivals(fleet, new LatencyModel(fleet.models), { load, jobs: JOBS }).spec;
  return simulate({ fleet, policy, seed: SEED, arrivals, policyOptions: { sloMs: SLO_MS }, ...extra });
}

for (const name of ['heterogeneous', 'default'] as const) {
  const fleet = loadCatalog(bundledFleetPath(name));
  console.log(`\n### ${name} fleet — p50 / mean / p99 (ms), cost per 1,000 jobs, utilisation gpu / cpu\n`);
  console.log('| load | policy | p50 | mean | p99 | max | cost/1k | util gpu | util cpu |');
  console.log('|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const load of LOADS) {
    for (const policy of POLICIES) {
      const r = run(fleet, policy, load);
      console.log(
        `| ${load} | ${policy} | ${f(r.p50Ms)} | ${f(r.meanMs)} | ${f(r.p99Ms)} | ${f(r.maxMs)} | ${r.costPer1000Jobs.toFixed(4)} | ${pct(r.utilisationByClass.gpu)} | ${pct(r.utilisationByClass.cpu)} |`,
      );
    }
  }
}

const fleetDefault = loadCatalog(bundledFleetPath('default'));
console.log(`\n### cost vs sed, default fleet, SLO ${SLO_MS} ms\n`);
console.log('| load | policy | p50 | p99 | cost/1k | share on cpu |');
console.log('|---:|---|---:|---:|---:|---:|');
for (const load of [0.3, 0.8]) {
  for (const policy of ['sed', 'cost'] as const) {
    const r = run(fleetDefault, policy, load);
    const cpuShare = Object.entries(r.sharePerWorker).reduce((s, [id, v]) => s + (id.startsWith('cpu') ? v : 0), 0);
    console.log(`| ${load} | ${policy} | ${f(r.p50Ms)} | ${f(r.p99Ms)} | ${r.costPer1000Jobs.toFixed(4)} | ${pct(cpuShare)} |`);
  }
}

const gpuOnly: Catalog = { models: fleetDefault.models, workers: fleetDefault.workers.filter((w) => w.class === 'gpu') };
console.log('\n### dynamic batching on the gpu class at saturation (default fleet\'s 2 gpus × 4 slots, model default, offered 10× unbatched capacity, i.e. saturated)\n');
console.log('| batching | jobs/s | mean batch | p50 | p99 |');
console.log('|---|---:|---:|---:|---:|');
for (const [label, batching] of [
  ['none (maxBatch 1)', { gpu: { maxBatch: 1 } }],
  ['maxBatch 4, 5 ms', { gpu: { maxBatch: 4, maxQueueDelayMs: 5 } }],
  ['maxBatch 8, 5 ms', { gpu: { maxBatch: 8, maxQueueDelayMs: 5 } }],
  ['maxBatch 16, 5 ms', { gpu: { maxBatch: 16, maxQueueDelayMs: 5 } }],
] as const) {
  const r = run(gpuOnly, 'sed', 10, { batchingByClass: batching });
  console.log(`| ${label} | ${r.throughput.toFixed(0)} | ${r.meanBatchSize.toFixed(2)} | ${f(r.p50Ms)} | ${f(r.p99Ms)} |`);
}

/** The live dispatcher's cap on held jobs: DISPATCH_CONCURRENCY (64) − 8. */
const LIVE_MAX_HELD = 56;
console.log(`\n### sed-late: unbounded holding vs the live cap (maxHeld ${LIVE_MAX_HELD}; beyond it, the overflow is bound by sed)\n`);
console.log('| fleet | load | p50 / p99 unbounded | p50 / p99 capped |');
console.log('|---|---:|---:|---:|');
for (const name of ['heterogeneous', 'default'] as const) {
  const fleet = loadCatalog(bundledFleetPath(name));
  for (const load of LOADS) {
    const free = run(fleet, 'sed-late', load);
    const capped = run(fleet, 'sed-late', load, { maxHeld: LIVE_MAX_HELD });
    console.log(`| ${name} | ${load} | ${f(free.p50Ms)} / ${f(free.p99Ms)} | ${f(capped.p50Ms)} / ${f(capped.p99Ms)} |`);
  }
}

const PRIORITY_MIX = 'high=0.1,normal=0.8,low=0.1';
const DEADLINES = '500=0.2';
console.log(`\n### priorities (${PRIORITY_MIX}) and deadlines (${DEADLINES}: 20 % of jobs must finish within 500 ms) — p99 per priority (ms), deadline misses\n`);
console.log(`| fleet | load | policy | ${PRIORITIES.map((p) => `p99 ${p}`).join(' | ')} | p99 all | misses |`);
console.log(`|---|---:|---|${PRIORITIES.map(() => '---:').join('|')}|---:|---:|`);
for (const name of ['heterogeneous', 'default'] as const) {
  const fleet = loadCatalog(bundledFleetPath(name));
  for (const load of [0.5, 0.8, 0.95]) {
    for (const policy of ['sed-late', 'sed', 'greedy-gpu', 'shared-queue'] as const) {
      const r = run(fleet, policy, load, { priorityMix: parsePriorityMix(PRIORITY_MIX), deadlines: parseDeadlineMix(DEADLINES) });
      const byPriority = PRIORITIES.map((p) => f(r.byPriority[p]?.p99Ms ?? NaN));
      const misses = `${r.deadlineMisses} (${((r.deadlineMisses / r.deadlineJobs) * 100).toFixed(1)} %)`;
      console.log(`| ${name} | ${load} | ${policy} | ${byPriority.join(' | ')} | ${f(r.p99Ms)} | ${misses} |`);
    }
  }
}
