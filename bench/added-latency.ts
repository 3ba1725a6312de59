/**
 * Latency the pipeline adds to a job, with the default policy and the cluster as deployed (api,
 * dispatcher, worker host: three processes), the load client (the load generator's runner) a
 * process of its own:
 *
 * - at 50 % load on the default fleet (fleets/default.json, what the cluster runs without
 *   FLEET_FILE): open-loop Poisson arrivals of model `default` at half the fleet's capacity
 *   (libs/sim's fleetCapacityPerS), after a short warm-up. Added latency per job = end to end
 *   (before the POST to the terminal answer) − its simulated service (finishedAt − startedAt).
 * - the prototype's scenario: fleets/prototype.json (1 gpu at 50 ms + 1 cpu at 200 ms), 500 jobs
 *   80 ms apart, at most 30 outstanding; end to end p50 / p99.
 *
 *   npx tsx --conditions=@sched/source bench/added-latency.ts [--load 0.5] [--duration 30] [--warmup 3]
 */
import { parseArgs } from 'node:util';
import { bundledFleetPath, loadCatalog, loadConfig } from '@sched/core';
import { LatencyModel } from '@sched/exec';
import { fleetCapacityPerS, type LatencySummary } from '@sched/sim';
import { BenchChild } from './bench-child.js';
import { startSplitCluster } from './bench-cluster.js';
import { formatNumber, markdownTable } from './bench-format.js';
import { isMainModule } from './is-main-module.js';

export interface AddedLatencyOptions {
  /** Offered load as a fraction of the default fleet's capacity. */
  readonly load: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly seed: number;
}

export const ADDED_LATENCY_DEFAULTS: AddedLatencyOptions = Object.freeze({ load: 0.5, durationS: 30, warmupS: 3, seed: 1 });

/** What the load process reports for one scheduled run. */
export interface ScheduledRun {
  readonly jobs: number;
  readonly completed: number;
  readonly failed: number;
  readonly errors: Readonly<Record<string, number>>;
  readonly lateStarts: number;
  readonly seconds: number;
  readonly endToEndMs: LatencySummary;
  readonly addedMs: LatencySummary;
}

export interface AddedLatencyResult {
  readonly options: AddedLatencyOptions;
  readonly policy: string;
  readonly capacityPerS: number;
  readonly ratePerS: number;
  readonly halfLoad: ScheduledRun;
  readonly prototype: ScheduledRun;
}

/** Starts the cluster on `fleetPath` with the default policy, runs the load process with `args`, returns its result. */
async function scheduledRun(fleetPath: string, policy: string, args: readonly string[]): Promise<ScheduledRun> {
  const cluster = await startSplitCluster(fleetPath, policy);
  const load = new BenchChild('load-process.ts', ['schedule', '--url', cluster.apiUrl, ...args]);
  try {
    const result = await load.next('result', 600_000);
    return result as unknown as ScheduledRun;
  } finally {
    await load.stop();
    await cluster.close();
  }
}

export async function runAddedLatency(options: AddedLatencyOptions = ADDED_LATENCY_DEFAULTS, log: (line: string) => void = console.error): Promise<AddedLatencyResult> {
  const policy = loadConfig({}).SCHED_POLICY;
  const fleetPath = bundledFleetPath('default');
  const catalog = loadCatalog(fleetPath);
  const capacityPerS = fleetCapacityPerS(catalog, new LatencyModel(catalog.models), [{ model: 'default', weight: 1 }]);
  const ratePerS = capacityPerS * options.load;
  const halfLoad = await scheduledRun(fleetPath, policy, [
    ...['--schedule', 'poisson', '--rate', String(ratePerS), '--duration', String(options.durationS)],
    ...['--warmup', String(options.warmupS), '--seed', String(options.seed)],
  ]);
  log(`added latency at ${options.load * 100} % (${formatNumber(ratePerS, 1)} jobs/s): p50 ${formatNumber(halfLoad.addedMs.p50Ms, 1)} ms, p99 ${formatNumber(halfLoad.addedMs.p99Ms, 1)} ms`);
  const prototype = await scheduledRun(bundledFleetPath('prototype'), policy, ['--schedule', 'burst', '--count', '500', '--spacing-ms', '80', '--max-outstanding', '30']);
  log(`prototype scenario: p50 ${formatNumber(prototype.endToEndMs.p50Ms, 1)} ms, p99 ${formatNumber(prototype.endToEndMs.p99Ms, 1)} ms`);
  return { options, policy, capacityPerS, ratePerS, halfLoad, prototype };
}

const errorText = (run: ScheduledRun): string => `${run.failed} / ${run.jobs}${run.failed > 0 ? ` (${Object.entries(run.errors).map(([kind, n]) => `${kind}: ${n}`).join(', ')})` : ''}`;

export function formatAddedLatency(result: AddedLatencyResult): string {
  const { halfLoad: half, prototype: proto, options } = result;
  const ms = (value: number): string => `${formatNumber(value, 1)} ms`;
  return [
    `Default policy (\`${result.policy}\`); api, dispatcher and worker host as three processes on their own redis-server; the load client (the load generator's runner, submit then long-poll) a process of its own. ` +
      `End to end: from before the POST to the terminal answer, per completed job. Added: end to end − the job's simulated service (its view's finishedAt − startedAt).`,
    '',
    markdownTable(
      ['scenario', 'jobs', 'errors', 'added p50', 'added p99', 'end to end p50', 'end to end p99', 'max'],
      [
        [
          `${options.load * 100} % load, default fleet (\`fleets/default.json\`, model \`default\`): Poisson at ${formatNumber(result.ratePerS, 1)} jobs/s (capacity ${formatNumber(result.capacityPerS, 1)}) for ${options.durationS} s after ${options.warmupS} s warm-up`,
          String(half.completed),
          errorText(half),
          `**${ms(half.addedMs.p50Ms)}**`,
          `**${ms(half.addedMs.p99Ms)}**`,
          ms(half.endToEndMs.p50Ms),
          ms(half.endToEndMs.p99Ms),
          ms(half.endToEndMs.maxMs),
        ],
        [
          "prototype's scenario (`fleets/prototype.json`: 1 gpu at 50 ms + 1 cpu at 200 ms), 500 jobs 80 ms apart, ≤ 30 outstanding",
          String(proto.completed),
          errorText(proto),
          ms(proto.addedMs.p50Ms),
          ms(proto.addedMs.p99Ms),
          `**${ms(proto.endToEndMs.p50Ms)}**`,
          `**${ms(proto.endToEndMs.p99Ms)}**`,
          ms(proto.endToEndMs.maxMs),
        ],
      ],
    ),
  ].join('\n');
}

if (isMainModule(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      load: { type: 'string', default: String(ADDED_LATENCY_DEFAULTS.load) },
      duration: { type: 'string', default: String(ADDED_LATENCY_DEFAULTS.durationS) },
      warmup: { type: 'string', default: String(ADDED_LATENCY_DEFAULTS.warmupS) },
      seed: { type: 'string', default: String(ADDED_LATENCY_DEFAULTS.seed) },
    },
  });
  const result = await runAddedLatency({ load: Number(values.load), durationS: Number(values.duration), warmupS: Number(values.warmup), seed: Number(values.seed) });
  console.log(formatAddedLatency(result));
}
