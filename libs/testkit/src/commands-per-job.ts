import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type SchedClient } from '@sched/client';
import type { JobRequestInput, JobView } from '@sched/core';
import { RedisCommandStats, diffCommandStats, totalCalls, type CommandStatsSnapshot } from './redis-command-stats.js';

export interface CommandsPerJobOptions {
  /** The running cluster's API. */
  apiUrl: string;
  /** Its redis-server: every command on it in the window is counted, so nothing else should use it. */
  redisUrl: string;
  /**
   * Jobs in the measured window.
   * @defaultValue 200
   */
  jobs?: number;
  /**
   * Closed-loop clients: each submits its next job once its last has ended. The count per job
   * depends on how jobs overlap (batched reads, one wake-up for several jobs), so pin it.
   * @defaultValue 4
   */
  clients?: number;
  /**
   * How a client waits for its job: `POST /v1/jobs` then long-polls of `GET /v1/jobs/:id?wait=`,
   * or one `POST` with `Prefer: wait` (`submitAndWait`).
   * @defaultValue 'long-poll'
   */
  wait?: 'long-poll' | 'prefer-wait';
  /**
   * The body of job `n` (0-based, warm-up jobs first).
   * @defaultValue `{ model: 'default', input: n }`
   */
  request?: (n: number) => JobRequestInput;
  /**
   * Sent as `Authorization: Bearer`.
   * @defaultValue none
   */
  apiKey?: string;
  /**
   * Jobs run before anything is counted (connections, script loads, first fleet reads).
   * @defaultValue 2 × clients
   */
  warmupJobs?: number;
  /**
   * Whether the work jobs leave behind once they have ended is done, given how many jobs have
   * ended so far (warm-up included): e.g. every webhook delivered. Polled every 10 ms before
   * the window closes.
   * @defaultValue always done
   */
  drained?: (jobsEnded: number) => boolean | Promise<boolean>;
  /**
   * The idle baseline's window, and the quiet time after the warm-up and after the last job
   * (timer-driven work: heartbeats, fleet refreshes, rechecks).
   * @defaultValue 1000 and 300 ms
   */
  idleMs?: number;
  settleMs?: number;
}

export interface CommandsPerJob {
  readonly jobs: number;
  readonly clients: number;
  /** Commands per job in the window, the idle rate's share over the window's length taken out. */
  readonly perJob: number;
  /** The same, per command, most first. */
  readonly byCommand: readonly { readonly command: string; readonly perJob: number }[];
  /** Commands counted in the window, idle share included. */
  readonly windowCommands: number;
  readonly windowMs: number;
  /** Commands per second with no jobs (measured before the window), subtracted over `windowMs`. */
  readonly idlePerS: number;
}

/**
 * Redis commands per job through the whole pipeline (submit → completed): runs `jobs` jobs from
 * `clients` closed-loop clients through a running cluster and counts `INFO commandstats` on its
 * redis-server from before the first submission until the last job has ended, `drained` holds
 * and `settleMs` has passed. Timer-driven commands do not scale with jobs, so an idle baseline,
 * measured first over `idleMs` with no jobs, is scaled to the window's length and taken out.
 * Every job must complete; anything else throws (a failed job costs a different count).
 */
export async function commandsPerJob(options: CommandsPerJobOptions): Promise<CommandsPerJob> {
  const jobs = options.jobs ?? 200;
  const clients = options.clients ?? 4;
  const warmupJobs = options.warmupJobs ?? 2 * clients;
  const idleMs = options.idleMs ?? 1000;
  const settleMs = options.settleMs ?? 300;
  const request = options.request ?? ((n: number) => ({ model: 'default', input: n }));
  const client = createClient({ baseUrl: options.apiUrl, apiKey: options.apiKey, timeoutMs: 30_000 });
  const stats = await RedisCommandStats.connect(options.redisUrl);
  let ended = 0;
  const drained = async (): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (options.drained && !(await options.drained(ended))) {
      if (Date.now() > deadline) throw new Error(`commandsPerJob: not drained 10 s after ${ended} jobs ended`);
      await sleep(10);
    }
  };
  const run = async (from: number, count: number): Promise<void> => {
    let next = from;
    const runOne = async (): Promise<void> => {
      while (next < from + count) {
        const view = await runJob(client, options.wait ?? 'long-poll', request(next++));
        ended++;
        if (view.status !== 'completed') throw new Error(`commandsPerJob: job ${view.id} ended ${view.status}: ${JSON.stringify(view.error)}`);
      }
    };
    await Promise.all(Array.from({ length: clients }, runOne));
  };
  try {
    await run(0, warmupJobs);
    await drained();
    await sleep(settleMs);
    const idleFrom = await stats.snapshot();
    await sleep(idleMs);
    const idleTo = await stats.snapshot();
    const before = await stats.snapshot();
    await run(warmupJobs, jobs);
    await drained();
    await sleep(settleMs);
    const after = await stats.snapshot();
    return perJob(jobs, clients, { from: idleFrom, to: idleTo }, { from: before, to: after });
  } finally {
    stats.close();
    await client.close();
  }
}

async function runJob(client: SchedClient, wait: 'long-poll' | 'prefer-wait', request: JobRequestInput): Promise<JobView> {
  if (wait === 'prefer-wait') return client.submitAndWait(request, { timeoutS: 30 });
  const { id } = await client.submit(request);
  return client.wait(id, { timeoutS: 30 });
}

interface Window {
  from: CommandStatsSnapshot;
  to: CommandStatsSnapshot;
}

function perJob(jobs: number, clients: number, idle: Window, window: Window): CommandsPerJob {
  const idleMs = idle.to.at - idle.from.at;
  const windowMs = window.to.at - window.from.at;
  const idleCalls = diffCommandStats(idle.from, idle.to);
  const windowCalls = diffCommandStats(window.from, window.to);
  const scale = windowMs / idleMs;
  const byCommand = [...new Set([...Object.keys(idleCalls), ...Object.keys(windowCalls)])]
    .map((command) => ({ command, perJob: ((windowCalls[command] ?? 0) - (idleCalls[command] ?? 0) * scale) / jobs }))
    .sort((a, b) => b.perJob - a.perJob);
  return {
    jobs,
    clients,
    perJob: byCommand.reduce((sum, c) => sum + c.perJob, 0),
    byCommand,
    windowCommands: totalCalls(windowCalls),
    windowMs,
    idlePerS: (totalCalls(idleCalls) * 1000) / idleMs,
  };
}

/** One line per command (per job, two decimals), for a failure message; shares under 0.01 are left out. */
export function formatCommandsPerJob(result: CommandsPerJob): string {
  const head = `${result.perJob.toFixed(1)} commands/job over ${result.jobs} jobs from ${result.clients} clients in ${result.windowMs.toFixed(0)} ms (${result.windowCommands} counted, idle ${result.idlePerS.toFixed(0)}/s taken out)`;
  const lines = result.byCommand.filter((c) => Math.abs(c.perJob) >= 0.01).map((c) => `  ${c.command.padEnd(24)} ${c.perJob.toFixed(2).padStart(7)}`);
  return [head, ...lines].join('\n');
}
