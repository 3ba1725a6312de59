/**
 * Submit-and-wait as two requests (POST /v1/jobs, then GET /v1/jobs/:id?wait=) against one
 * (POST /v1/jobs with `Prefer: wait=30`), in one run, alternating rounds. A closed loop of
 * --concurrency clients, each submitting a job and waiting for its end before the next, on a
 * fleet whose jobs take ~1 ms (6 gpu × 50 slots), so the pipeline's own cost is all there is.
 * The cluster runs as a deployment does (api, dispatcher, worker host: three processes), a fresh
 * one per round. Reported per round: completed jobs/s; HTTP requests per job (the API's request
 * histogram); CPU ms per job of the api alone, of the three processes, and of this load process
 * (the client's share of the saving).
 *
 *   npx tsx --conditions=@sched/source bench/prefer-wait.ts [--concurrency 32] [--seconds 15] [--rounds 3] [--warmup 3]
 */
import { parseArgs } from 'node:util';
import { createClient } from '@sched/client';
import { cpuSeconds, startSplitCluster, tempFleetFile, ZERO_LATENCY_FLEET } from './bench-cluster.js';

const { values } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '32' },
    seconds: { type: 'string', default: '15' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '3' },
  },
});
const concurrency = Number(values.concurrency);
const seconds = Number(values.seconds);
const fleetFile = tempFleetFile('prefer-wait', ZERO_LATENCY_FLEET);

type Mode = 'submit + long-poll' | 'Prefer: wait';
const MODES: readonly Mode[] = ['submit + long-poll', 'Prefer: wait'];

/** Every job completed in `ms` by `concurrency` clients, each waiting for its job before the next. */
async function closedLoop(apiUrl: string, mode: Mode, ms: number): Promise<number> {
  const client = createClient({ baseUrl: apiUrl, timeoutMs: 60_000 });
  const until = Date.now() + ms;
  let completed = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, c) => {
      for (let i = 0; Date.now() < until; i++) {
        const request = { model: 'default', input: `${c}-${i}` };
        const view =
          mode === 'Prefer: wait' ? await client.submitAndWait(request, { timeoutS: 60 }) : await client.wait((await client.submit(request)).id, { timeoutS: 60 });
        if (view.status === 'completed') completed++;
      }
    }),
  );
  await client.close();
  return completed;
}

/** Requests the API has answered: the count of its request-duration histogram, every route and status. */
async function requestsAnswered(apiUrl: string): Promise<number> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text();
  return [...text.matchAll(/^sched_http_request_duration_seconds_count\{[^}]*\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

const ownCpuSeconds = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

interface Round {
  jobsPerS: number;
  requestsPerJob: number;
  apiCpuMs: number;
  clusterCpuMs: number;
  clientCpuMs: number;
}

const results = new Map<Mode, Round[]>(MODES.map((mode) => [mode, []]));
console.log(
  `closed loop, ${concurrency} clients, ${seconds} s per round after ${values.warmup} s warm-up; 1 ms jobs on 6 gpu × 50 slots; api, dispatcher, worker host as 3 processes; 2 cores\n`,
);
console.log('| round | mode | jobs/s | requests per job | CPU ms per job: api | api + dispatcher + worker | load client |');
console.log('|---:|---|---:|---:|---:|---:|---:|');
for (let round = 1; round <= Number(values.rounds); round++) {
  // Alternate which goes first, so a drift in the machine's load does not favour one side.
  const order = round % 2 === 1 ? MODES : [...MODES].reverse();
  for (const mode of order) {
    const cluster = await startSplitCluster(fleetFile.path, 'sed');
    try {
      await closedLoop(cluster.apiUrl, mode, Number(values.warmup) * 1000);
      // The api is the last of the three processes (see startSplitCluster).
      const apiPid = cluster.pids[cluster.pids.length - 1] ?? 0;
      const requestsBefore = await requestsAnswered(cluster.apiUrl);
      const apiBefore = cpuSeconds(apiPid);
      const clusterBefore = cluster.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
      const clientBefore = ownCpuSeconds();
      const started = Date.now();
      const jobs = await closedLoop(cluster.apiUrl, mode, seconds * 1000);
      const elapsed = (Date.now() - started) / 1000;
      const perJobMs = (cpu: number): number => (cpu * 1000) / jobs;
      const r: Round = {
        jobsPerS: jobs / elapsed,
        clientCpuMs: perJobMs(ownCpuSeconds() - clientBefore),
        apiCpuMs: perJobMs(cpuSeconds(apiPid) - apiBefore),
        clusterCpuMs: perJobMs(cluster.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - clusterBefore),
        // Read after the CPU: the scrape itself is one more request, left out of the count.
        requestsPerJob: ((await requestsAnswered(cluster.apiUrl)) - requestsBefore - 1) / jobs,
      };
      results.get(mode)?.push(r);
      console.log(
        `| ${round} | ${mode} | ${r.jobsPerS.toFixed(1)} | ${r.requestsPerJob.toFixed(2)} | ${r.apiCpuMs.toFixed(3)} | ${r.clusterCpuMs.toFixed(3)} | ${r.clientCpuMs.toFixed(3)} |`,
      );
    } finally {
      await cluster.close();
    }
  }
}

const mean = (mode: Mode, f: (r: Round) => number): number => {
  const rounds = results.get(mode) ?? [];
  return rounds.reduce((sum, r) => sum + f(r), 0) / rounds.length;
};
console.log('\n| mode | jobs/s | requests per job | CPU ms per job: api | api + dispatcher + worker | load client |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const mode of MODES) {
  console.log(
    `| ${mode} (mean) | ${mean(mode, (r) => r.jobsPerS).toFixed(1)} | ${mean(mode, (r) => r.requestsPerJob).toFixed(2)} | ${mean(mode, (r) => r.apiCpuMs).toFixed(3)} | ${mean(mode, (r) => r.clusterCpuMs).toFixed(3)} | ${mean(mode, (r) => r.clientCpuMs).toFixed(3)} |`,
  );
}
const [two, one] = MODES;
if (two !== undefined && one !== undefined) {
  console.log(
    `\nPrefer: wait vs submit + long-poll: throughput ×${(mean(one, (r) => r.jobsPerS) / mean(two, (r) => r.jobsPerS)).toFixed(3)}; api CPU per job ×${(mean(one, (r) => r.apiCpuMs) / mean(two, (r) => r.apiCpuMs)).toFixed(3)}; cluster CPU per job ×${(mean(one, (r) => r.clusterCpuMs) / mean(two, (r) => r.clusterCpuMs)).toFixed(3)}`,
  );
}
fleetFile.remove();
