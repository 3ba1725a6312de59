import type { Catalog, PolicyName, Priority } from '@sched/core';
import type { BatcherOptions } from '@sched/exec';
import type { PolicyOptions } from '@sched/policies';
import type { ArrivalSpec } from './arrivals.js';
import type { DeadlineMix, PriorityMix } from './job-traits.js';
import type { TenantMix } from './tenant-mix.js';

/** Every routing policy, plus the baseline of one shared FCFS queue that all workers pull from. */
export type SimPolicyName = PolicyName | 'shared-queue';

export interface SimScenario {
  readonly fleet: Catalog;
  readonly policy: SimPolicyName;
  readonly arrivals: ArrivalSpec;
  readonly seed: number;
  readonly policyOptions?: PolicyOptions;
  /**
   * How often the dispatcher re-reads the true load of every worker (the live one: about once a second).
   * @defaultValue 1000
   */
  readonly refreshMs?: number;
  /**
   * Delay before the dispatcher's view hears of a completion; until then it
   * still counts the job (its own dispatches count at once).
   * @defaultValue 0
   */
  readonly completionLagMs?: number;
  /**
   * A fixed cost added to every job's latency: what the live pipeline spends outside
   * queueing and execution (HTTP submit, the ingress hop, worker pick-up, result
   * delivery; about 10 ms on the 2-core benchmark machine, see BENCHMARKS.md).
   * Constant per job, so it shifts latencies without changing the queueing dynamics.
   * @defaultValue 0
   */
  readonly pipelineOverheadMs?: number;
  /** Batching per class, replacing the fleet file's `maxBatch`/`maxQueueDelayMs` for that class. */
  readonly batchingByClass?: Readonly<Record<string, BatcherOptions>>;
  /**
   * Each job's priority, drawn from this mix. Held jobs (`sed-late`) and worker queues serve
   * higher priorities first; `shared-queue` ignores priorities.
   * @defaultValue every job `normal`
   */
  readonly priorityMix?: PriorityMix;
  /**
   * Deadlines carried by fractions of the jobs. As live: a job is never routed to a worker that
   * would miss its deadline while another can make it, a held job expires at its latest start,
   * and a worker skips a job picked up too late; those fail `deadline_exceeded`.
   * `shared-queue` ignores deadlines.
   * @defaultValue no deadlines
   */
  readonly deadlines?: DeadlineMix;
  /**
   * Jobs `sed-late` holds at most; beyond it the first held job of the arriving job's model is
   * bound at once by `sed` (live: DISPATCH_CONCURRENCY − 8, i.e. 56).
   * @defaultValue Infinity
   */
  readonly maxHeld?: number;
  /**
   * Tenants sending the jobs, each arrival drawn by share. With them, jobs of one priority wait in
   * fair-share order (`fairShare`), as live when the API has keys.
   * @defaultValue one tenant
   */
  readonly tenants?: TenantMix;
  /**
   * Fair sharing between `tenants` (start-time fair queuing, libs/policies fair-share.ts): off, jobs
   * of one priority wait in arrival order whoever sent them.
   * @defaultValue true
   */
  readonly fairShare?: boolean;
  /**
   * Only this tenant's arrivals are sent (the others' are dropped before they arrive): its solo
   * baseline, with exactly the arrival times it has in the shared run.
   */
  readonly soloTenant?: string;
  /** Called every 65,536 arrivals and at the end. */
  readonly onProgress?: (arrived: number, total: number) => void;
}

export interface SimResult {
  readonly policy: SimPolicyName;
  /** Jobs completed. */
  readonly jobs: number;
  /** Jobs no worker could serve (never started). */
  readonly unroutable: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  /** Mean time from arrival to start of execution. */
  readonly meanWaitMs: number;
  /** Jobs per second of virtual time. */
  readonly throughput: number;
  /** Virtual time from 0 to the last completion. */
  readonly durationMs: number;
  /** Busy slot-time ÷ (slots × duration), per class. */
  readonly utilisationByClass: Readonly<Record<string, number>>;
  /** Fraction of jobs each worker ran. */
  readonly sharePerWorker: Readonly<Record<string, number>>;
  /** Busy-time bill (service time × worker's costPerHour) per 1,000 jobs. */
  readonly costPer1000Jobs: number;
  /** Jobs per execution. */
  readonly meanBatchSize: number;
  /** The same latencies per priority, for each priority that had jobs. */
  readonly byPriority: Readonly<Partial<Record<Priority, PriorityResult>>>;
  /** The same latencies per tenant, when the scenario has tenants (a solo run: its tenant only). */
  readonly byTenant: Readonly<Record<string, TenantResult>>;
  /** Jobs that carried a deadline. */
  readonly deadlineJobs: number;
  /** Jobs failed `deadline_exceeded`: never run (they are in neither `jobs` nor `unroutable`). */
  readonly deadlineMisses: number;
}

export interface TenantResult {
  /** Jobs of this tenant completed. */
  readonly jobs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
}

export interface PriorityResult {
  /** Jobs of this priority completed. */
  readonly jobs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly deadlineMisses: number;
}
