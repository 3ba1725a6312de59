/**
 * Pure decision cost per policy at 10 / 100 / 1,000 / 10,000 workers (ns per
 * decision), on a FleetIndex like the dispatcher's: default fleet class mix,
 * random depths, each decision followed by the view's own dispatch increment.
 *
 *   npx tsx --conditions=@sched/source bench/policy-decision.ts
 */
import { bundledFleetPath, loadCatalog, POLICY_NAMES, seededRng } from '@sched/core';
import { LatencyModel } from '@sched/exec';
import { createPolicy, FleetIndex, isLateBinding, LateBinder, type RoutableJob } from '@sched/policies';
import { generateFleet } from '@sched/sim';

const SIZES = [10, 100, 1000, 10_000];
const template = loadCatalog(bundledFleetPath('default'));
const latency = new LatencyModel(template.models);
const job: RoutableJob = { model: 'default', priority: 'normal' };

function nsPerDecision(policyName: (typeof POLICY_NAMES)[number], workers: number): number {
  const fleet = generateFleet(template, workers);
  const index = new FleetIndex(fleet.workers, { expectedServiceMs: (m, c, s) => latency.expectedMs(m, c, s) });
  const rng = seededRng(1);
  for (let i = 0; i < workers; i++) index.refresh(i, { depth: Math.floor(rng() * 8), queuedWorkMs: rng() * 400 });
  if (isLateBinding(policyName)) return nsPerRound(index, workers);
  const policy = createPolicy(policyName, { sloMs: 500 });
  return nsPerStep(2000, () => {
    const id = policy(job, index, rng);
    if (id !== null) index.dispatched(index.indexOf(id), 50);
  });
}

/** Mean ns per call of `step`: warmed up first so the JIT has compiled the path, then ~0.2 s of calls. */
function nsPerStep(warmup: number, step: () => void): number {
  const run = (n: number): number => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) step();
    return Number(process.hrtime.bigint() - started) / n;
  };
  run(warmup);
  const probe = run(2000);
  return run(Math.max(2000, Math.min(2_000_000, Math.floor(2e8 / probe))));
}

/**
 * `sed-late` decides in rounds, not per job: the cost that matters is one round per completion.
 * Each step frees one slot on a random busy worker (a completion) and runs a round over 64 held
 * jobs (always 64: the line never empties), binding what it binds. ns per round.
 */
function nsPerRound(index: FleetIndex, workers: number): number {
  const rng = seededRng(2);
  const binder = new LateBinder();
  const held: RoutableJob[] = Array.from({ length: 64 }, () => job);
  return nsPerStep(20_000, () => {
    const position = Math.floor(rng() * workers);
    if (index.worker(position).depth > 0) index.completed(position, 50);
    binder.round(held.length, (k) => held[k] as RoutableJob, index, rng, (_, id) => index.dispatched(index.indexOf(id), 50));
  });
}

const rows = POLICY_NAMES.map((name) => [name, ...SIZES.map((n) => nsPerDecision(name, n))] as const);
console.log(`| policy | ${SIZES.map((n) => `${n.toLocaleString('en')} workers`).join(' | ')} |`);
console.log(`|---|${SIZES.map(() => '---:').join('|')}|`);
for (const [name, ...ns] of rows) console.log(`| ${name} | ${ns.map((v) => `${Math.round(v).toLocaleString('en')} ns`).join(' | ')} |`);
