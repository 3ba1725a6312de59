/**
 * The HTTP front's own cost: `POST /v1/jobs` ÷ an Express hello-world POST route, in requests/s,
 * both driven by autocannon in a process of its own. The cluster runs as deployed (api,
 * dispatcher, worker host) on the zero-latency fleet (6 gpu × 50 slots, 1 ms), so during the
 * `POST /v1/jobs` run the dispatcher and workers route and drain what arrives; the hello-world
 * server (hello-server.ts) is one more process. Rounds alternate which target goes first, and a
 * round starts only once the cluster has drained the previous backlog (its CPU back near idle).
 *
 *   npx tsx --conditions=@sched/source bench/http-ratio.ts [--rounds 3] [--duration 5] [--connections 16]
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { parseArgs, promisify } from 'node:util';
import { REPO_ROOT } from '@sched/testkit';
import { BenchChild } from './bench-child.js';
import { cpuSeconds, startSplitCluster, tempFleetFile, ZERO_LATENCY_FLEET } from './bench-cluster.js';
import { formatNumber, markdownTable } from './bench-format.js';
import { pairedRatios, spreadOf, type Spread } from './bench-math.js';
import { isMainModule } from './is-main-module.js';

export interface HttpRatioOptions {
  readonly rounds: number;
  readonly durationS: number;
  readonly connections: number;
}

export const HTTP_RATIO_DEFAULTS: HttpRatioOptions = Object.freeze({ rounds: 3, durationS: 5, connections: 16 });

export type HttpTarget = 'jobs' | 'hello';

/** One autocannon run. */
export interface AutocannonRun {
  readonly round: number;
  readonly target: HttpTarget;
  /** Mean of autocannon's per-second samples. */
  readonly requestsPerS: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
}

export interface HttpRatioResult {
  readonly options: HttpRatioOptions;
  readonly runs: readonly AutocannonRun[];
  readonly jobsPerS: Spread;
  readonly helloPerS: Spread;
  /** POST /v1/jobs ÷ hello world, round by round. */
  readonly ratio: Spread;
  /** Seconds the cluster took to drain each POST /v1/jobs run's backlog. */
  readonly drainS: readonly number[];
}

/** The body every request sends: a valid job request (the hello route ignores all but `model`). */
const BODY = JSON.stringify({ model: 'default', input: 'x' });
const execFileAsync = promisify(execFile);
const AUTOCANNON = createRequire(`${REPO_ROOT}/bench/`).resolve('autocannon/autocannon.js');

/** Runs autocannon in its own process against `url` (with `headers` on every request) and reads its JSON report. */
export async function runAutocannon(url: string, options: HttpRatioOptions, headers: Readonly<Record<string, string>> = {}): Promise<Omit<AutocannonRun, 'round' | 'target'>> {
  const extra = Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}=${value}`]);
  const args = [AUTOCANNON, '--json', '-m', 'POST', '-H', 'content-type=application/json', ...extra, '-b', BODY, '-c', String(options.connections), '-d', String(options.durationS), url];
  const { stdout } = await execFileAsync(process.execPath, args, { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
  const report = JSON.parse(stdout) as { requests: { average: number; total: number }; non2xx: number; errors: number; timeouts: number };
  return { requestsPerS: report.requests.average, requests: report.requests.total, non2xx: report.non2xx, errors: report.errors + report.timeouts };
}

/** Waits until `pids` together use under `fraction` of a core over half a second; resolves with the seconds waited. */
export async function waitUntilIdle(pids: readonly number[], fraction = 0.1, timeoutMs = 90_000): Promise<number> {
  const started = performance.now();
  const total = (): number => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  for (;;) {
    const before = total();
    await new Promise((resolve) => setTimeout(resolve, 500));
    if (total() - before < 0.5 * fraction || performance.now() - started > timeoutMs) return (performance.now() - started) / 1000;
  }
}

export async function runHttpRatio(options: HttpRatioOptions = HTTP_RATIO_DEFAULTS, log: (line: string) => void = console.error): Promise<HttpRatioResult> {
  const fleet = tempFleetFile('bench-http-ratio', ZERO_LATENCY_FLEET);
  const cluster = await startSplitCluster(fleet.path, 'sed');
  const hello = new BenchChild('hello-server.ts', []);
  const runs: AutocannonRun[] = [];
  const drainS: number[] = [];
  try {
    const helloUrl = `http://127.0.0.1:${Number((await hello.next('listening')).port)}/hello`;
    const urls: Record<HttpTarget, string> = { jobs: `${cluster.apiUrl}/v1/jobs`, hello: helloUrl };
    // A first run of each warms both servers up (JIT, connections, script loads); not reported.
    for (const target of ['hello', 'jobs'] as const) await runAutocannon(urls[target], { ...options, durationS: 3 });
    await waitUntilIdle(cluster.pids);
    for (let round = 1; round <= options.rounds; round++) {
      const order: HttpTarget[] = round % 2 === 1 ? ['hello', 'jobs'] : ['jobs', 'hello'];
      for (const target of order) {
        const run = { round, target, ...(await runAutocannon(urls[target], options)) };
        runs.push(run);
        const waited = await waitUntilIdle(cluster.pids);
        if (target === 'jobs') drainS.push(waited);
        log(`http-ratio round ${round} ${target}: ${formatNumber(run.requestsPerS)} requests/s (${run.non2xx} non-2xx, ${run.errors} errors), then ${formatNumber(waited, 1)} s to idle`);
      }
    }
  } finally {
    await hello.stop();
    await cluster.close();
    fleet.remove();
  }
  const of = (target: HttpTarget): number[] => runs.filter((r) => r.target === target).map((r) => r.requestsPerS);
  return { options, runs, jobsPerS: spreadOf(of('jobs')), helloPerS: spreadOf(of('hello')), ratio: spreadOf(pairedRatios(of('jobs'), of('hello'))), drainS };
}

export function formatHttpRatio(result: HttpRatioResult): string {
  const { options } = result;
  const rows = Array.from({ length: options.rounds }, (_, i) => {
    const of = (target: HttpTarget): AutocannonRun | undefined => result.runs.find((r) => r.round === i + 1 && r.target === target);
    const [jobs, hello] = [of('jobs'), of('hello')];
    const cell = (run: AutocannonRun | undefined): string => (run === undefined ? '—' : `${formatNumber(run.requestsPerS)}${run.non2xx + run.errors > 0 ? ` (${run.non2xx} non-2xx, ${run.errors} errors)` : ''}`);
    return [String(i + 1), cell(jobs), cell(hello), formatNumber((jobs?.requestsPerS ?? Number.NaN) / (hello?.requestsPerS ?? Number.NaN), 3)];
  });
  rows.push(['**mean**', `**${formatNumber(result.jobsPerS.mean)}**`, `**${formatNumber(result.helloPerS.mean)}**`, `**${formatNumber(result.ratio.mean, 3)}** (${formatNumber(result.ratio.min, 3)}–${formatNumber(result.ratio.max, 3)})`]);
  return [
    `autocannon 9 in its own process, ${options.connections} connections, ${options.durationS} s per run, POST with a JSON job request; ${options.rounds} rounds alternating which target goes first. ` +
      '`POST /v1/jobs`: the api of the three-process cluster (fleet of 6 gpu × 50 slots at 1 ms), dispatcher and worker host routing and draining the jobs as they arrive. ' +
      'Hello world: Express 5, `express.json()` and a POST route answering 202 with a small JSON body, in a process of its own. Each run starts once the cluster has drained the previous backlog.',
    '',
    markdownTable(['round', 'POST /v1/jobs requests/s', 'hello world requests/s', 'ratio'], rows),
  ].join('\n');
}

if (isMainModule(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: String(HTTP_RATIO_DEFAULTS.rounds) },
      duration: { type: 'string', default: String(HTTP_RATIO_DEFAULTS.durationS) },
      connections: { type: 'string', default: String(HTTP_RATIO_DEFAULTS.connections) },
    },
  });
  const result = await runHttpRatio({ rounds: Number(values.rounds), durationS: Number(values.duration), connections: Number(values.connections) });
  console.log(formatHttpRatio(result));
}
