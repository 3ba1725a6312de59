import { PRIORITIES, type Priority } from '@sched/core';
import { summariseLatencies } from './latency-summary.js';
import type { PriorityResult, SimResult, SimScenario, TenantResult } from './sim-types.js';

/** What a finished run recorded, per job and per worker. */
export interface RunRecord {
  readonly arrivedAt: Float64Array;
  readonly startedAt: Float64Array;
  /** −1: the job never finished. */
  readonly finishedAt: Float64Array;
  /** Index in PRIORITIES. */
  readonly priority: Uint8Array;
  /** 1: failed `deadline_exceeded`. */
  readonly missed: Uint8Array;
  /** Index in the scenario's tenant names (absent without tenants). */
  readonly tenant?: Uint8Array;
  readonly unroutable: number;
  readonly deadlineJobs: number;
  readonly busyMs: Float64Array;
  readonly jobsRun: Float64Array;
  readonly durationMs: number;
  readonly executions: number;
  readonly costPer1000Jobs: number;
}

/** The result of a run: latencies of the completed jobs (overall and per priority), utilisation, cost. */
export function summariseRun(scenario: SimScenario, run: RunRecord): SimResult {
  const { fleet } = scenario;
  const total = run.arrivedAt.length;
  const overheadMs = scenario.pipelineOverheadMs ?? 0;
  const latencies = new Float64Array(total);
  const arrivedByPriority = new Float64Array(PRIORITIES.length);
  const missedByPriority = new Float64Array(PRIORITIES.length);
  let done = 0;
  let waitSum = 0;
  let missed = 0;
  for (let job = 0; job < total; job++) {
    const p = run.priority[job] as number;
    arrivedByPriority[p] = (arrivedByPriority[p] as number) + 1;
    if (run.missed[job] === 1) {
      missedByPriority[p] = (missedByPriority[p] as number) + 1;
      missed++;
    }
    const finished = run.finishedAt[job] as number;
    if (finished < 0) continue;
    const arrived = run.arrivedAt[job] as number;
    latencies[done++] = finished - arrived + overheadMs;
    waitSum += (run.startedAt[job] as number) - arrived;
  }
  const present = PRIORITIES.filter((_, p) => (arrivedByPriority[p] as number) > 0);
  // One priority (the usual case): its latencies are the run's; summarise (and sort) them once.
  const byPriority: Partial<Record<Priority, PriorityResult>> =
    present.length > 1 ? perPriority(run, overheadMs, missedByPriority) : {};
  const summary = summariseLatencies(latencies.subarray(0, done));
  for (const p of present.length === 1 ? present : []) {
    byPriority[p] = { jobs: done, p50Ms: summary.p50Ms, p99Ms: summary.p99Ms, meanMs: summary.meanMs, deadlineMisses: missed };
  }

  const duration = run.durationMs;
  const busyByClass: Record<string, number> = {};
  const slotsByClass: Record<string, number> = {};
  const sharePerWorker: Record<string, number> = {};
  fleet.workers.forEach((worker, i) => {
    busyByClass[worker.class] = (busyByClass[worker.class] ?? 0) + (run.busyMs[i] as number);
    slotsByClass[worker.class] = (slotsByClass[worker.class] ?? 0) + worker.slots;
    sharePerWorker[worker.id] = done === 0 ? 0 : (run.jobsRun[i] as number) / done;
  });
  const utilisationByClass: Record<string, number> = {};
  for (const [cls, busy] of Object.entries(busyByClass)) {
    utilisationByClass[cls] = duration === 0 ? 0 : busy / ((slotsByClass[cls] as number) * duration);
  }
  return {
    policy: scenario.policy,
    jobs: done,
    unroutable: run.unroutable,
    ...summary,
    meanWaitMs: done === 0 ? 0 : waitSum / done,
    throughput: duration === 0 ? 0 : (done / duration) * 1000,
    durationMs: duration,
    utilisationByClass,
    sharePerWorker,
    costPer1000Jobs: run.costPer1000Jobs,
    meanBatchSize: run.executions === 0 ? 0 : done / run.executions,
    byPriority,
    byTenant: perTenant(scenario, run, overheadMs),
    deadlineJobs: run.deadlineJobs,
    deadlineMisses: missed,
  };
}

function perPriority(run: RunRecord, overheadMs: number, missedByPriority: Float64Array): Partial<Record<Priority, PriorityResult>> {
  const out: Partial<Record<Priority, PriorityResult>> = {};
  PRIORITIES.forEach((priority, p) => {
    const latencies: number[] = [];
    let arrived = 0;
    for (let job = 0; job < run.arrivedAt.length; job++) {
      if (run.priority[job] !== p) continue;
      arrived++;
      const finished = run.finishedAt[job] as number;
      if (finished >= 0) latencies.push(finished - (run.arrivedAt[job] as number) + overheadMs);
    }
    if (arrived === 0) return;
    const summary = summariseLatencies(Float64Array.from(latencies));
    out[priority] = { jobs: latencies.length, p50Ms: summary.p50Ms, p99Ms: summary.p99Ms, meanMs: summary.meanMs, deadlineMisses: missedByPriority[p] as number };
  });
  return out;
}

function perTenant(scenario: SimScenario, run: RunRecord, overheadMs: number): Record<string, TenantResult> {
  const out: Record<string, TenantResult> = {};
  const names = scenario.tenants?.names;
  if (names === undefined || run.tenant === undefined) return out;
  const latencies: number[][] = names.map(() => []);
  for (let job = 0; job < run.arrivedAt.length; job++) {
    const finished = run.finishedAt[job] as number;
    if (finished >= 0) latencies[run.tenant[job] as number]?.push(finished - (run.arrivedAt[job] as number) + overheadMs);
  }
  names.forEach((name, t) => {
    const own = latencies[t] as number[];
    if (scenario.soloTenant !== undefined && scenario.soloTenant !== name) return;
    const summary = summariseLatencies(Float64Array.from(own));
    out[name] = { jobs: own.length, p50Ms: summary.p50Ms, p99Ms: summary.p99Ms, meanMs: summary.meanMs };
  });
  return out;
}
