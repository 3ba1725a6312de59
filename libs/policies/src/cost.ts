import { ownEntry } from '@sched/core';
import { candidates, type SamplingOptions } from './candidates.js';
import { expectedDelayMs } from './expected-delay.js';
import { leastExpectedDelay } from './sed.js';
import type { Policy, WorkerView } from './types.js';

export interface CostPolicyOptions extends SamplingOptions {
  /** Latency target of a job without `deadlineMs`, per model (LATENCY_SLO_MS per model). */
  sloMsByModel?: Readonly<Record<string, number>>;
  /** Latency target of a job without `deadlineMs` whose model has no entry above. */
  sloMs?: number;
}

/**
 * The cheapest worker (`costPerHour`, absent = 0) whose expected completion
 * meets the job's latency target: `deadlineMs`, else the model's SLO, else the
 * global one. Among equal prices the sooner one wins. When no candidate can
 * meet it, or the job has no target, it routes like `sed`.
 */
export function createCostPolicy(options: CostPolicyOptions = {}): Policy {
  return (job, snapshot, rng) => {
    const pool = candidates(job.model, snapshot, rng, options);
    const target = job.deadlineMs ?? ownEntry(options.sloMsByModel, job.model) ?? options.sloMs;
    let best: WorkerView | null = null;
    if (target !== undefined) {
      let bestPrice = Infinity;
      let bestDelay = Infinity;
      for (const worker of pool) {
        const delay = expectedDelayMs(job, worker, snapshot);
        if (delay > target) continue;
        const price = worker.costPerHour ?? 0;
        if (price < bestPrice || (price === bestPrice && delay < bestDelay)) {
          best = worker;
          bestPrice = price;
          bestDelay = delay;
        }
      }
    }
    return (best ?? leastExpectedDelay(job, pool, snapshot, rng))?.id ?? null;
  };
}
