/**
 * Admission control (issue 12), two measurements:
 *
 * - **overload**: the three-process cluster on a fleet of 100 jobs/s (2 gpu × 5 slots at 100 ms),
 *   open-loop Poisson load from the load client: 70 % for a baseline, then 3× with the guard
 *   (`MAX_EXPECTED_WAIT_MS`), then 3× on a second cluster without it. Accepted throughput, the 429
 *   share, p50/p99 of accepted jobs (submit → result, client side) and each process's peak RSS.
 * - **auth-cost**: `POST /v1/jobs` requests/s with an API key, a request rate and a max in flight
 *   (both set far above what the run reaches, so they count but never refuse) ÷ the same without
 *   keys or limits, autocannon, rounds alternating which cluster goes first.
 *
 *   npx tsx --conditions=@sched/source bench/admission.ts [--seconds 10] [--rounds 3]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { LoadReport } from '@sched/loadgen';
import { runLoadClient, startSplitCluster, tempFleetFile, ZERO_LATENCY_FLEET, type SplitCluster } from './bench-cluster.js';
import { formatNumber, markdownTable } from './bench-format.js';
import { pairedRatios, spreadOf, type Spread } from './bench-math.js';
import { HTTP_RATIO_DEFAULTS, runAutocannon, waitUntilIdle } from './http-ratio.js';
import { isMainModule } from './is-main-module.js';

const CAPACITY_PER_S = 100;
const MAX_WAIT_MS = 100;
const FLEET = { models: { default: { gpu: { p50Ms: 100, p99Ms: 100 } } }, workers: [0, 1].map((i) => ({ id: `gpu-${i}`, class: 'gpu', slots: 5 })) };
const API_KEY = 'bench-admission-key-0123456789';

export interface OverloadRun {
  readonly name: string;
  readonly offeredPerS: number;
  readonly sent: number;
  readonly completed: number;
  readonly refused: number;
  readonly otherErrors: number;
  readonly acceptedPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Peak resident memory (VmHWM) of api, dispatcher and worker host after the run, MiB. */
  readonly peakRssMiB: Readonly<Record<string, number>>;
}

export interface AdmissionResult {
  readonly seconds: number;
  readonly overload: readonly OverloadRun[];
  readonly auth: { readonly withPerS: Spread; readonly withoutPerS: Spread; readonly ratio: Spread; readonly rounds: number };
}

/** Peak resident set of a process so far (VmHWM), MiB. */
function peakRssMiB(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(match?.[1] ?? Number.NaN) / 1024);
}

async function openLoad(cluster: SplitCluster, name: string, ratePerS: number, seconds: number): Promise<OverloadRun> {
  const report = await runLoadClient<LoadReport>(['open', '--rate', String(ratePerS), '--duration', String(seconds), '--max-outstanding', '100000', '--timeout-s', '300'], cluster.apiUrl);
  const refused = Object.entries(report.errors).filter(([kind]) => kind.startsWith('http 429')).reduce((sum, [, e]) => sum + e.count, 0);
  const errors = Object.values(report.errors).reduce((sum, e) => sum + e.count, 0);
  const [worker, dispatcher, api] = cluster.pids.map(peakRssMiB);
  return {
    name,
    offeredPerS: ratePerS,
    sent: report.count,
    completed: report.completed,
    refused,
    otherErrors: errors - refused,
    acceptedPerS: report.throughputPerS,
    p50Ms: report.latencyMs?.p50 ?? Number.NaN,
    p99Ms: report.latencyMs?.p99 ?? Number.NaN,
    peakRssMiB: { api: api ?? Number.NaN, dispatcher: dispatcher ?? Number.NaN, worker: worker ?? Number.NaN },
  };
}

export async function runAdmission(options: { seconds: number; rounds: number }, log: (line: string) => void = console.error): Promise<AdmissionResult> {
  const fleet = tempFleetFile('bench-admission', FLEET);
  const overload: OverloadRun[] = [];
  try {
    const guarded = await startSplitCluster(fleet.path, 'sed', { MAX_EXPECTED_WAIT_MS: String(MAX_WAIT_MS) });
    try {
      await openLoad(guarded, 'warm-up', 0.5 * CAPACITY_PER_S, 3);
      for (const [name, rate] of [
        ['70 % load, guard on', 0.7 * CAPACITY_PER_S],
        ['3× load, guard on', 3 * CAPACITY_PER_S],
      ] as const) {
        const run = await openLoad(guarded, name, rate, options.seconds);
        overload.push(run);
        log(`admission ${name}: ${run.completed} completed, ${run.refused} refused, p99 ${run.p99Ms} ms`);
      }
    } finally {
      await guarded.close();
    }
    const open = await startSplitCluster(fleet.path, 'sed', { MAX_EXPECTED_WAIT_MS: '0' });
    try {
      await openLoad(open, 'warm-up', 0.5 * CAPACITY_PER_S, 3);
      const run = await openLoad(open, '3× load, guard off', 3 * CAPACITY_PER_S, options.seconds);
      overload.push(run);
      log(`admission ${run.name}: ${run.completed} completed, p99 ${run.p99Ms} ms`);
    } finally {
      await open.close();
    }
  } finally {
    fleet.remove();
  }
  return { seconds: options.seconds, overload, auth: await authCost(options.rounds, log) };
}

async function authCost(rounds: number, log: (line: string) => void): Promise<AdmissionResult['auth']> {
  const fleet = tempFleetFile('bench-auth-cost', ZERO_LATENCY_FLEET);
  const plain = await startSplitCluster(fleet.path, 'sed');
  const keyed = await startSplitCluster(fleet.path, 'sed', { API_KEYS: API_KEY, RATE_LIMIT_PER_S: '1000000', MAX_IN_FLIGHT_PER_KEY: '1000000' });
  const withKey: number[] = [];
  const without: number[] = [];
  try {
    const runs = { plain: () => runAutocannon(`${plain.apiUrl}/v1/jobs`, HTTP_RATIO_DEFAULTS), keyed: () => runAutocannon(`${keyed.apiUrl}/v1/jobs`, HTTP_RATIO_DEFAULTS, { authorization: `Bearer ${API_KEY}` }) };
    for (const name of ['plain', 'keyed'] as const) await runs[name]();
    for (let round = 1; round <= rounds; round++) {
      for (const name of round % 2 === 1 ? (['plain', 'keyed'] as const) : (['keyed', 'plain'] as const)) {
        await waitUntilIdle([...plain.pids, ...keyed.pids]);
        const run = await runs[name]();
        (name === 'keyed' ? withKey : without).push(run.requestsPerS);
        log(`auth-cost round ${round} ${name}: ${formatNumber(run.requestsPerS)} requests/s (${run.non2xx} non-2xx)`);
      }
    }
  } finally {
    await Promise.all([plain.close(), keyed.close()]);
    fleet.remove();
  }
  return { withPerS: spreadOf(withKey), withoutPerS: spreadOf(without), ratio: spreadOf(pairedRatios(withKey, without)), rounds };
}

export function formatAdmission(result: AdmissionResult): string {
  const rows = result.overload.map((run) => [
    run.name,
    formatNumber(run.offeredPerS),
    formatNumber(run.acceptedPerS, 1),
    `${formatNumber((100 * run.refused) / Math.max(1, run.sent), 1)} %`,
    String(run.otherErrors),
    formatNumber(run.p50Ms, 1),
    formatNumber(run.p99Ms, 1),
    `${run.peakRssMiB.api} / ${run.peakRssMiB.dispatcher} / ${run.peakRssMiB.worker}`,
  ]);
  const { auth } = result;
  return [
    `Overload: the three-process cluster on 2 gpu × 5 slots at 100 ms (${CAPACITY_PER_S} jobs/s), open-loop Poisson arrivals from \`npm run load\` for ${result.seconds} s per run after a 3 s warm-up; ` +
      `guard on = \`MAX_EXPECTED_WAIT_MS=${MAX_WAIT_MS}\`, guard off = \`0\` (a cluster of its own). Latency is submit → result of completed jobs at the client; peak RSS is each process's VmHWM since it started.`,
    '',
    markdownTable(['run', 'offered jobs/s', 'completed jobs/s', '429 share', 'other errors', 'p50 ms', 'p99 ms', 'peak RSS MiB (api / dispatcher / worker)'], rows),
    '',
    `Cost of auth + rate limiting on the submit path: autocannon (${HTTP_RATIO_DEFAULTS.connections} connections, ${HTTP_RATIO_DEFAULTS.durationS} s, ${auth.rounds} rounds alternating) against \`POST /v1/jobs\` of two three-process clusters on the zero-latency fleet, ` +
      'one with `API_KEYS`, `RATE_LIMIT_PER_S=1000000` and `MAX_IN_FLIGHT_PER_KEY=1000000` (every limit counted, none reached), one with neither.',
    '',
    markdownTable(
      ['', 'requests/s (mean, min–max)'],
      [
        ['with key + rate limit + max in flight', `${formatNumber(auth.withPerS.mean)} (${formatNumber(auth.withPerS.min)}–${formatNumber(auth.withPerS.max)})`],
        ['without', `${formatNumber(auth.withoutPerS.mean)} (${formatNumber(auth.withoutPerS.min)}–${formatNumber(auth.withoutPerS.max)})`],
        ['**ratio**', `**${formatNumber(auth.ratio.mean, 3)}** (${formatNumber(auth.ratio.min, 3)}–${formatNumber(auth.ratio.max, 3)})`],
      ],
    ),
  ].join('\n');
}

if (isMainModule(import.meta.url)) {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, rounds: { type: 'string', default: '3' } } });
  const result = await runAdmission({ seconds: Number(values.seconds), rounds: Number(values.rounds) });
  console.log(formatAdmission(result));
}
