import { isTerminal, type JobView } from '@sched/core';
import { summariseLatencies, type LatencySummary } from '@sched/sim';
import type { ExecutionRecord } from '@sched/worker';

/** What one tenant's load stream saw at the door. */
export interface TenantTally {
  readonly tenant: string;
  /** Jobs the tenant tried to submit (each counted once, however many tries it took). */
  submissions: number;
  /** Answered 202 (on the first try or a retry with the same Idempotency-Key). */
  accepted: number;
  /** Every 429 / 503 / other 5xx answer, retries included. */
  responses429: number;
  responses503: number;
  responses5xx: number;
  /** Submissions whose last try got no answer (timeout, connection error): whether the job exists is unknown to the client. */
  unresolved: number;
  /** Submissions not accepted in the end, by the last try's outcome (`http <status> <code>`, or the client's code when no answer came). */
  readonly refused: Record<string, number>;
}

export function emptyTenantTally(tenant: string): TenantTally {
  return { tenant, submissions: 0, accepted: 0, responses429: 0, responses503: 0, responses5xx: 0, unresolved: 0, refused: {} };
}

/** One try of a submission: when, and what came back (`202`, `http 503 redis_unavailable`, `request_timeout`). */
export interface SubmitTry {
  readonly at: number;
  readonly outcome: string;
}

/** A 202: the job the API promised to finish. */
export interface AcceptedJob {
  readonly id: string;
  readonly tenant: string;
  /** Every try of its submission, the 202 last. */
  readonly tries: readonly SubmitTry[];
}

/** One kill -9 of a worker host and what it left behind. */
export interface HostKill {
  readonly host: string;
  /** The killed incarnation's process id (execution-log lines carry it). */
  readonly pid: number;
  readonly workerIds: readonly string[];
  readonly killedAt: number;
  /** When its replacement started (undefined: the run ended first). */
  restartedAt: number | undefined;
  /** Jobs waiting or running in its workers' queues once its descriptors had expired, and just before the restart. */
  readonly stranded: Set<string>;
}

/** A process the harness did not kill that exited anyway (a finding), and was started again. */
export interface UnexpectedExit {
  readonly process: string;
  readonly at: number;
  readonly code: number | string;
  /** The last lines it wrote. */
  readonly tail: string;
}

export interface ChaosInputs {
  readonly accepted: readonly AcceptedJob[];
  /** Each accepted job's last view after the drain; absent when the API answered 404 for it. */
  readonly views: ReadonlyMap<string, JobView>;
  readonly executions: readonly ExecutionRecord[];
  readonly kills: readonly HostKill[];
  readonly tenants: readonly TenantTally[];
  readonly unexpectedExits: readonly UnexpectedExit[];
  /** What Redis holds for some of the lost and stuck jobs, by id (the run reads it before it stops). */
  readonly redisState: ReadonlyMap<string, string>;
}

/** How one worker-host kill was recovered from; see `recoveryOf`. */
export interface Recovery {
  readonly host: string;
  readonly killedAt: number;
  readonly stranded: number;
  /** Stranded jobs not terminal after the drain (they are stuck or lost). */
  readonly unfinished: number;
  /** ms from the kill to the end of its last stranded job (undefined: none stranded, or one unfinished). */
  readonly lastStrandedMs: number | undefined;
  /** ms from the kill to the restarted host's first completed job (undefined: not restarted, or no job completed there after). */
  readonly firstCompletionMs: number | undefined;
  /** The later of the two; undefined while a stranded job is unfinished or when neither happened. */
  readonly ms: number | undefined;
}

export interface ChaosReport {
  readonly accepted: number;
  readonly completed: number;
  readonly cancelled: number;
  readonly failedByReason: Record<string, number>;
  /** Accepted, and unknown to the API after the drain. Must be empty. */
  readonly lost: readonly string[];
  /** Accepted, and not terminal when the drain timed out. Must be empty. */
  readonly stuck: readonly string[];
  /** Jobs by how many executions started (`{1: 4000, 2: 12}`); 0 for a job that ended without running. */
  readonly executionsPerJob: Record<number, number>;
  /** Jobs that ran more than once where no earlier execution's host was killed while it ran. */
  readonly unexplainedDuplicates: readonly string[];
  /** The executions of the first few of them, to tell what re-ran them. */
  readonly duplicateSamples: readonly (readonly ExecutionRecord[])[];
  /** Completed jobs with no execution in the log (the log or the count is wrong). */
  readonly completedWithoutExecution: readonly string[];
  /** Submission to finish of the completed jobs (the API's own timings). */
  readonly latency: LatencySummary;
  readonly recoveries: readonly Recovery[];
  readonly longestRecoveryMs: number | undefined;
  readonly tenants: readonly TenantTally[];
  readonly unexpectedExits: readonly UnexpectedExit[];
  /** Lost and stuck jobs by what Redis held for them after the drain. */
  readonly unaccountedByRedisState: Record<string, number>;
  /** For the first few lost and stuck jobs: their submission's tries and what Redis held for them. */
  readonly diagnoses: readonly { readonly id: string; readonly kind: 'lost' | 'stuck'; readonly tries: readonly SubmitTry[]; readonly redis: string }[];
}

/** Nothing lost, nothing stuck: the run's verdict (and its exit code). */
export function chaosPassed(report: Pick<ChaosReport, 'lost' | 'stuck'>): boolean {
  return report.lost.length === 0 && report.stuck.length === 0;
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** Unexplained duplicates, and lost or stuck jobs, the report details. */
const SAMPLES = 5;

function finishedAt(view: JobView | undefined): number | undefined {
  const text = view?.timings.finishedAt;
  return text === undefined || !isTerminal(view?.status ?? 'queued') ? undefined : Date.parse(text);
}

/**
 * Recovery of a worker-host kill: from the kill until both every job stranded on the host has
 * finished (wherever it ran in the end) and the restarted host has completed its first job (when
 * it was restarted and given work within the run).
 */
export function recoveryOf(kill: HostKill, views: ReadonlyMap<string, JobView>): Recovery {
  let unfinished = 0;
  let lastStrandedAt: number | undefined;
  for (const id of kill.stranded) {
    const at = finishedAt(views.get(id));
    if (at === undefined) unfinished++;
    else lastStrandedAt = Math.max(lastStrandedAt ?? at, at);
  }
  let firstCompletionAt: number | undefined;
  const restartedAt = kill.restartedAt;
  if (restartedAt !== undefined) {
    for (const view of views.values()) {
      const at = finishedAt(view);
      if (view.status !== 'completed' || at === undefined || !kill.workerIds.includes(view.worker?.id ?? '')) continue;
      if (!(Date.parse(view.timings.startedAt ?? '') >= restartedAt)) continue;
      firstCompletionAt = Math.min(firstCompletionAt ?? at, at);
    }
  }
  const since = (at: number | undefined): number | undefined => (at === undefined ? undefined : at - kill.killedAt);
  const lastStrandedMs = unfinished > 0 ? undefined : since(lastStrandedAt);
  const firstCompletionMs = since(firstCompletionAt);
  const parts = [lastStrandedMs, firstCompletionMs].filter((ms): ms is number => ms !== undefined);
  return {
    host: kill.host,
    killedAt: kill.killedAt,
    stranded: kill.stranded.size,
    unfinished,
    lastStrandedMs,
    firstCompletionMs,
    ms: unfinished > 0 || parts.length === 0 ? undefined : Math.max(...parts),
  };
}

/**
 * An execution followed by another of the same job is explained when its host incarnation was
 * killed after it started (the job died with it); anything else (a lock lost to a Redis restart
 * or a refused write, a stalled job re-run) is a duplicate the run reports.
 */
function hasUnexplainedDuplicate(runs: readonly ExecutionRecord[], kills: readonly HostKill[]): boolean {
  for (let i = 0; i < runs.length - 1; i++) {
    const run = runs[i] as ExecutionRecord;
    const next = runs[i + 1] as ExecutionRecord;
    const killed = kills.some((kill) => kill.pid === run.pid && kill.killedAt >= run.at && kill.killedAt <= next.at);
    if (!killed) return true;
  }
  return false;
}

export function buildChaosReport(inputs: ChaosInputs): ChaosReport {
  const { accepted, views, executions, kills } = inputs;
  const runsByJob = new Map<string, ExecutionRecord[]>();
  for (const record of executions) {
    const runs = runsByJob.get(record.jobId);
    if (runs === undefined) runsByJob.set(record.jobId, [record]);
    else runs.push(record);
  }
  let completed = 0;
  let cancelled = 0;
  const failedByReason: Record<string, number> = {};
  const lost: string[] = [];
  const stuck: string[] = [];
  const executionsPerJob: Record<number, number> = {};
  const unexplainedDuplicates: string[] = [];
  const duplicateSamples: ExecutionRecord[][] = [];
  const completedWithoutExecution: string[] = [];
  const latencies: number[] = [];
  const seen = new Set<string>();
  for (const { id } of accepted) {
    if (seen.has(id)) continue;
    seen.add(id);
    const view = views.get(id);
    const runs = (runsByJob.get(id) ?? []).sort((a, b) => a.at - b.at);
    executionsPerJob[runs.length] = (executionsPerJob[runs.length] ?? 0) + 1;
    if (hasUnexplainedDuplicate(runs, kills)) {
      unexplainedDuplicates.push(id);
      if (duplicateSamples.length < SAMPLES) duplicateSamples.push(runs);
    }
    if (view === undefined) {
      lost.push(id);
      continue;
    }
    if (!isTerminal(view.status)) {
      stuck.push(id);
    } else if (view.status === 'completed') {
      completed++;
      if (runs.length === 0) completedWithoutExecution.push(id);
      if (view.timings.totalMs !== undefined) latencies.push(view.timings.totalMs);
    } else if (view.status === 'cancelled') {
      cancelled++;
    } else {
      const reason = view.error?.code ?? 'unknown';
      failedByReason[reason] = (failedByReason[reason] ?? 0) + 1;
    }
  }
  // A job stranded on a killed host whose 202 never reached its client is not the run's to account for.
  const recoveries = kills.map((kill) => recoveryOf({ ...kill, stranded: new Set([...kill.stranded].filter((id) => seen.has(id))) }, views));
  const measured = recoveries.flatMap((r) => (r.ms === undefined ? [] : [r.ms]));
  return {
    accepted: seen.size,
    completed,
    cancelled,
    failedByReason,
    lost,
    stuck,
    executionsPerJob,
    unexplainedDuplicates,
    duplicateSamples,
    completedWithoutExecution,
    latency: summariseLatencies(Float64Array.from(latencies)),
    recoveries,
    longestRecoveryMs: measured.length === 0 ? undefined : Math.max(...measured),
    tenants: inputs.tenants,
    unexpectedExits: inputs.unexpectedExits,
    unaccountedByRedisState: countBy([...lost, ...stuck].flatMap((id) => inputs.redisState.get(id) ?? [])),
    diagnoses: [...lost.map((id) => ({ id, kind: 'lost' as const })), ...stuck.map((id) => ({ id, kind: 'stuck' as const }))]
      .slice(0, SAMPLES)
      .flatMap(({ id, kind }) => {
        const redis = inputs.redisState.get(id);
        return redis === undefined ? [] : [{ id, kind, tries: accepted.find((job) => job.id === id)?.tries ?? [], redis }];
      }),
  };
}
