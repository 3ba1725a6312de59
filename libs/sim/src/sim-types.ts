import type { Catalog, PolicyName } from '@sched/core';
import type { BatcherOptions } from '@sched/exec';
import type { PolicyOptions } from '@sched/policies';
import type { ArrivalSpec } from './arrivals.js';

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
}
