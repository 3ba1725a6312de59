import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bundledFleetPath, isTerminal, loadCatalog, seededRng, type JobView, type Rng } from '@sched/core';
import { LatencyModel } from '@sched/exec';
import { fleetCapacityPerS } from '@sched/sim';
import { waitFor } from '@sched/testkit';
import { parseExecutionLog, type ExecutionRecord } from '@sched/worker';
import { ChaosCluster } from './chaos-cluster.js';
import { TenantLoad } from './chaos-load.js';
import { chaosPlan, hostLayout, pickVictim, type ChaosStep } from './chaos-plan.js';
import { buildChaosReport, type ChaosReport, type HostKill } from './chaos-report.js';

export interface ChaosOptions {
  /** Seconds of load (and of chaos). */
  readonly seconds: number;
  /** Seeds the arrivals and the choice of victims. */
  readonly seed: number;
  /** Jobs per second over all tenants. @defaultValue 70 % of the fleet's capacity */
  readonly ratePerS?: number;
  /** Longest wait, after the load, for every accepted job to end. */
  readonly drainS: number;
  /** `DEAD_WORKER_GRACE_MS` of the run: a killed host is restarted this long (plus 2 s) after its kill. */
  readonly deadWorkerGraceMs: number;
  /** Keep every process's output and the execution logs in this directory (for diagnosis). @defaultValue nowhere */
  readonly keepLogs?: string;
  /** Progress lines go here. */
  readonly log: (line: string) => void;
}

export const CHAOS_DEFAULTS = Object.freeze({ seconds: 60, seed: 1, drainS: 60, deadWorkerGraceMs: 5000 });

export const CHAOS_TENANTS = 3;
export const CHAOS_HOSTS = 3;
const MODEL = 'default';
/** How long maxmemory stays just above used memory. */
const FILL_HOLD_MS = 3000;
/** After the load, how long the last submissions (retrying through a fault) may take. */
const SUBMIT_GRACE_MS = 120_000;
/** Lost or stuck jobs whose Redis state is read (and counted by kind). */
const DIAGNOSED = 5000;
/** A killed dispatcher is started again after this. */
const DISPATCHER_DOWN_MS = 1000;
/** After the grace, time for the dispatcher's next fleet re-read to send the dead host's jobs back to ingress before the host returns. */
const RESTART_MARGIN_MS = 2000;

export interface ChaosResult {
  readonly report: ChaosReport;
  readonly startedAt: number;
  readonly ratePerS: number;
  readonly capacityPerS: number;
}

/** Everything a fault handler needs from the run. */
interface RunContext {
  readonly cluster: ChaosCluster;
  readonly kills: HostKill[];
  readonly rng: Rng;
  readonly options: ChaosOptions;
  readonly say: (line: string) => void;
  /** Hosts killed and not yet back: not chosen again. */
  readonly down: Set<string>;
}

async function killWorkerHost(run: RunContext): Promise<void> {
  const { cluster, say, options } = run;
  const victim = pickVictim(
    cluster.runningHosts().filter((name) => !run.down.has(name)),
    run.rng,
  );
  const host = victim === undefined ? undefined : cluster.hosts.get(victim);
  if (host === undefined) return say('no worker host left to kill');
  const { layout, process } = host;
  const kill: HostKill = { host: layout.name, pid: process.pid, workerIds: layout.workerIds, killedAt: Date.now(), restartedAt: undefined, stranded: new Set() };
  run.down.add(layout.name);
  say(`kill -9 ${layout.name} (${layout.workerIds.join(', ')}; pid ${kill.pid})`);
  await process.kill();
  run.kills.push(kill);
  await waitFor(() => cluster.descriptorsGone(layout.workerIds), 15_000, `${layout.name}'s descriptors to expire`);
  await sleep(1000);
  for (const id of await cluster.queuedJobIds(layout.workerIds)) kill.stranded.add(id);
  say(`${layout.name}'s descriptors expired; ${kill.stranded.size} jobs stranded in its queues`);
  await sleep(Math.max(0, kill.killedAt + options.deadWorkerGraceMs + RESTART_MARGIN_MS - Date.now()));
  for (const id of await cluster.queuedJobIds(layout.workerIds)) kill.stranded.add(id);
  await process.start();
  kill.restartedAt = Date.now();
  run.down.delete(layout.name);
  say(`${layout.name} restarted (pid ${process.pid}); ${kill.stranded.size} jobs were stranded on it`);
}

async function act(step: ChaosStep, run: RunContext): Promise<void> {
  const { cluster, say } = run;
  switch (step.action) {
    case 'kill-worker-host':
      return killWorkerHost(run);
    case 'kill-dispatcher': {
      say(`kill -9 dispatcher (pid ${cluster.dispatcher.pid})`);
      await cluster.dispatcher.kill();
      await sleep(DISPATCHER_DOWN_MS);
      await cluster.dispatcher.start();
      return say(`dispatcher restarted (pid ${cluster.dispatcher.pid})`);
    }
    case 'restart-redis': {
      say('restarting Redis (SIGTERM: the append-only file is written and synced; then started on the same port and directory)');
      const { stopMs, startMs } = await cluster.restartRedis();
      return say(`Redis back: ${stopMs} ms to stop, ${startMs} ms to start and load its data`);
    }
    case 'fill-redis': {
      say(`Redis maxmemory set just above used memory (noeviction) for ${FILL_HOLD_MS / 1000} s`);
      const { usedBytes, oomErrors } = await cluster.fillRedis(FILL_HOLD_MS);
      return say(`maxmemory lifted; used ${(usedBytes / 1e6).toFixed(1)} MB at the start; Redis answered ${oomErrors} OOM errors meanwhile`);
    }
  }
}

function readExecutions(dir: string): ExecutionRecord[] {
  return readdirSync(dir).flatMap((file) => parseExecutionLog(readFileSync(join(dir, file), 'utf8')));
}

/**
 * `npm run chaos`: the cluster as separate processes under open-loop load from three tenants,
 * with worker hosts, the dispatcher and Redis failing on a plan; then a drain and the accounting
 * of every accepted job.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const fleetFile = bundledFleetPath('default');
  const fleet = loadCatalog(fleetFile);
  const capacityPerS = fleetCapacityPerS(fleet, new LatencyModel(fleet.models), [{ model: MODEL, weight: 1 }]);
  const ratePerS = options.ratePerS ?? 0.7 * capacityPerS;
  const logDir = options.keepLogs === undefined ? mkdtempSync(join(tmpdir(), 'sched-chaos-')) : join(options.keepLogs, 'executions');
  mkdirSync(logDir, { recursive: true });
  const apiKeys = Array.from({ length: CHAOS_TENANTS }, (_, i) => `chaos-tenant-${i}-key-${options.seed}`.padEnd(24, 'x'));
  const layout = hostLayout(fleet, CHAOS_HOSTS);
  let startedAt = Date.now();
  const say = (line: string): void => options.log(`[+${((Date.now() - startedAt) / 1000).toFixed(1).padStart(5)} s] ${line}`);
  say(`starting redis-server (appendonly yes, appendfsync everysec), api, dispatcher and ${layout.map((h) => `${h.name} (${h.workerIds.join(', ')})`).join(', ')}`);
  const cluster = await ChaosCluster.start({ fleetFile, hosts: layout, apiKeys, logDir, env: { DEAD_WORKER_GRACE_MS: String(options.deadWorkerGraceMs) } });
  const tenants = apiKeys.map(
    (apiKey, i) => new TenantLoad({ tenant: `tenant-${i}`, apiKey, apiUrl: cluster.apiUrl, ratePerS: ratePerS / CHAOS_TENANTS, seconds: options.seconds, seed: options.seed * 100 + i, model: MODEL }),
  );
  try {
    await sleep(1500);
    startedAt = Date.now();
    say(`load: ${ratePerS.toFixed(1)} jobs/s (${((100 * ratePerS) / capacityPerS).toFixed(0)} % of ${capacityPerS.toFixed(1)}) from ${CHAOS_TENANTS} tenants for ${options.seconds} s`);
    for (const tenant of tenants) tenant.start();
    const run: RunContext = { cluster, kills: [], rng: seededRng(options.seed), options, say, down: new Set() };
    const progress = setInterval(() => {
      const sum = (pick: (t: TenantLoad) => number): number => tenants.reduce((n, t) => n + pick(t), 0);
      say(
        `submitted ${sum((t) => t.tally.submissions)}, accepted ${sum((t) => t.tally.accepted)}, 503s ${sum((t) => t.tally.responses503)}, other 5xx ${sum((t) => t.tally.responses5xx)}; hosts up ${cluster.runningHosts().length}/${CHAOS_HOSTS}`,
      );
    }, 5000);
    try {
      const plan = chaosPlan(options.seconds);
      const attempt = (step: ChaosStep): Promise<void> => act(step, run).catch((error: unknown) => say(`${step.action} failed: ${String(error)}`));
      const onTime = async (step: ChaosStep): Promise<void> => {
        await sleep(Math.max(0, startedAt + step.atMs - Date.now()));
        await attempt(step);
      };
      const faults = [
        (async () => {
          for (const step of plan.once) await onTime(step);
        })(),
        ...plan.hostKills.map(onTime),
      ];
      const unanswered = await Promise.all(tenants.map((t) => t.submitted(options.seconds * 1000 + SUBMIT_GRACE_MS)));
      if (unanswered.some((n) => n > 0)) say(`${unanswered.reduce((a, b) => a + b, 0)} submissions still unanswered ${SUBMIT_GRACE_MS / 1000} s after the load; not waited for`);
      await Promise.all(faults);
    } finally {
      clearInterval(progress);
    }
    const accepted = tenants.flatMap((t) => t.accepted);
    say(`load over; draining ${accepted.length} accepted jobs (up to ${options.drainS} s)`);
    const views = new Map<string, JobView>();
    for (const tenantViews of await Promise.all(tenants.map((t) => t.drain(options.drainS)))) for (const [id, view] of tenantViews) views.set(id, view);
    say('drained');
    const unaccounted = accepted.filter(({ id }) => views.get(id)?.status === undefined || !isTerminal(views.get(id)?.status ?? 'queued')).slice(0, DIAGNOSED);
    const redisState = new Map(await Promise.all(unaccounted.map(async ({ id }) => [id, await cluster.jobState(id)] as const)));
    const report = buildChaosReport({
      accepted,
      views,
      executions: readExecutions(logDir),
      kills: run.kills,
      tenants: tenants.map((t) => t.tally),
      unexpectedExits: cluster.unexpectedExits,
      redisState,
    });
    return { report, startedAt, ratePerS, capacityPerS };
  } finally {
    await Promise.all(tenants.map((t) => t.stop()));
    await cluster.close(options.keepLogs);
    if (options.keepLogs === undefined) rmSync(logDir, { recursive: true, force: true });
  }
}
