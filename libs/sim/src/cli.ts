import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { bundledFleetPath, FleetFileError, loadCatalog, type Catalog } from '@sched/core';
import { LatencyModel, parseAzureCsvTrace, parseJsonlTrace, TraceError, type TraceArrival } from '@sched/exec';
import cliProgress from 'cli-progress';
import { jobCount } from './arrivals.js';
import { buildArrivals } from './build-arrivals.js';
import { CliUsageError, parseCliOptions, SWEEP_LOADS, USAGE, type CliOptions } from './cli-options.js';
import { formatResultTable, formatShareTable, formatSweepTable } from './format-table.js';
import { generateFleet } from './generate-fleet.js';
import { formatPrioritySummary } from './priority-summary.js';
import type { SimResult, SimScenario } from './sim-types.js';
import { formatTenantTable } from './tenant-summary.js';
import { simulate } from './simulation.js';
import { renderSweepSvg } from './sweep-svg.js';

const BUNDLED = ['default', 'prototype', 'heterogeneous'] as const;
const PROGRESS_MIN_JOBS = 200_000;

function loadFleet(options: CliOptions): Catalog {
  const bundled = BUNDLED.find((name) => name === options.fleet);
  const fleet = loadCatalog(bundled === undefined ? options.fleet : bundledFleetPath(bundled));
  return options.fleetSize === undefined ? fleet : generateFleet(fleet, options.fleetSize);
}

function loadTrace(options: CliOptions): TraceArrival[] | undefined {
  const path = options.trace;
  if (path === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliUsageError(`--trace: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!path.endsWith('.csv')) return parseJsonlTrace(text, path);
  if (options.traceModel === undefined) throw new CliUsageError('--trace-model: required with an Azure .csv trace (it has no model column)');
  return parseAzureCsvTrace(text, options.traceModel, path);
}

/** Runs every (load, policy) pair; returns results in that order, with the offered load of each. */
function runAll(options: CliOptions, fleet: Catalog, trace: TraceArrival[] | undefined, extra: Pick<SimScenario, 'soloTenant'> = {}): { load: number; speed?: number; result: SimResult }[] {
  const latency = new LatencyModel(fleet.models);
  const loads = options.sweep ? SWEEP_LOADS : [options.load];
  const plans = loads.map((load) =>
    buildArrivals(fleet, latency, {
      load,
      ratePerS: options.rate,
      jobs: options.jobs,
      mix: options.mix,
      bursty: options.bursty,
      trace,
      speed: options.speed,
    }),
  );
  const total = plans.reduce((sum, plan) => sum + jobCount(plan.spec) * options.policies.length, 0);
  const bar =
    options.progress && process.stderr.isTTY && total >= PROGRESS_MIN_JOBS
      ? new cliProgress.SingleBar({ stream: process.stderr, format: 'sim [{bar}] {percentage}% | {value}/{total} jobs | {policy}' }, cliProgress.Presets.shades_classic)
      : null;
  bar?.start(total, 0, { policy: '' });
  let base = 0;
  const out: { load: number; speed?: number; result: SimResult }[] = [];
  for (const plan of plans) {
    for (const policy of options.policies) {
      const result = simulate({
        fleet,
        policy,
        arrivals: plan.spec,
        seed: options.seed,
        policyOptions: options.sloMs === undefined ? {} : { sloMs: options.sloMs },
        refreshMs: options.refreshMs,
        completionLagMs: options.completionLagMs,
        pipelineOverheadMs: options.pipelineOverheadMs,
        batchingByClass: options.batchingByClass,
        priorityMix: options.priorityMix,
        deadlines: options.deadlines,
        maxHeld: options.maxHeld,
        tenants: options.tenants,
        fairShare: options.fairShare,
        ...extra,
        onProgress: bar === null ? undefined : (arrived) => bar.update(base + arrived, { policy }),
      });
      base += jobCount(plan.spec);
      out.push({ load: plan.offeredLoad, ...(plan.speed === undefined ? {} : { speed: plan.speed }), result });
    }
  }
  bar?.stop();
  return out;
}

function describeRun(options: CliOptions, fleet: Catalog, load: number, speed: number | undefined): string {
  const classes = new Map<string, number>();
  for (const worker of fleet.workers) classes.set(worker.class, (classes.get(worker.class) ?? 0) + 1);
  const mix = [...classes].map(([cls, n]) => `${n} ${cls}`).join(' + ');
  const arrivals = options.trace === undefined ? `${options.jobs} jobs` : `trace ${options.trace} at ${speed?.toFixed(1)}×`;
  return `fleet ${options.fleet} (${mix}) · load ${load.toFixed(2)} · ${arrivals} · seed ${options.seed}`;
}

export function main(argv: readonly string[]): number {
  const options = parseCliOptions(argv);
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const fleet = loadFleet(options);
  const trace = loadTrace(options);
  const started = performance.now();
  const runs = runAll(options, fleet, trace);
  const wallS = (performance.now() - started) / 1000;
  if (options.json) {
    for (const { load, speed, result } of runs) console.log(JSON.stringify({ ...result, load, ...(speed === undefined ? {} : { speed }), seed: options.seed }));
  } else if (options.sweep) {
    const p99 = new Map<string, number[]>();
    for (const { result } of runs) p99.set(result.policy, [...(p99.get(result.policy) ?? []), result.p99Ms]);
    const loads = runs.filter((_, i) => i % options.policies.length === 0).map((run) => run.load);
    console.log(formatSweepTable(loads, options.policies, p99));
    const series = [...p99].map(([policy, values]) => ({ policy, points: values.map((v, i): [number, number] => [loads[i] as number, v]) }));
    writeFileSync(options.svg, renderSweepSvg(series, `p99 vs load · ${describeRun(options, fleet, NaN, undefined).split(' · load')[0] ?? ''}`));
    console.log(`\nwrote ${options.svg}`);
  } else {
    const first = runs[0];
    console.log(describeRun(options, fleet, first?.load ?? options.load, first?.speed));
    console.log(formatResultTable(runs.map((run) => run.result)));
    if (options.priorityMix !== undefined || options.deadlines !== undefined) console.log(`\n${formatPrioritySummary(runs.map((run) => run.result))}`);
    if (options.tenants !== undefined) {
      const solo = options.tenants.names.map((tenant) => runAll(options, fleet, trace, { soloTenant: tenant }).map((run) => run.result));
      console.log(`\n${formatTenantTable(options.tenants, runs.map((run) => run.result), solo)}`);
    }
    if (fleet.workers.length <= 16) console.log(`\n${formatShareTable(runs.map((run) => run.result))}`);
  }
  console.error(`${runs.length} run(s) in ${wallS.toFixed(2)} s`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    if (error instanceof CliUsageError || error instanceof FleetFileError || error instanceof TraceError || error instanceof RangeError) {
      console.error(`sim: ${error.message}`);
      process.exitCode = 2;
    } else throw error;
  }
}
