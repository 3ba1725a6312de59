export * from './types.js';
export { candidates, DEFAULT_SAMPLE_PER_CLASS, DEFAULT_SCAN_LIMIT, type SamplingOptions } from './candidates.js';
export { createCostPolicy, type CostPolicyOptions } from './cost.js';
export { createPolicy, isLateBinding, type PolicyOptions } from './create-policy.js';
export { bindCapacity, DEFAULT_LOOKAHEAD, DEFAULT_PATIENCE, DEFAULT_PREFETCH, LateBinder, type LateBindingOptions } from './late-binding.js';
export { HeldJobs, type HeldJob, type HeldJobsOptions } from './held-jobs.js';
export { DispatchLoop, type DispatchLoopOptions, type HeldOutcomes } from './dispatch-loop.js';
export { withDeadlineGuard } from './deadline-guard.js';
export { expectedDelayMs, expectedServiceMs } from './expected-delay.js';
export { expectedWaits, NO_BACKLOG, type Backlog } from './expected-wait.js';
export { FairBand, fairRank, FAIR_RANK_MS, FAIR_REBASE_STEPS, fleetCostMs, queueCostMs, workerQueuePriority, type FairTag } from './fair-share.js';
export {
  FleetIndex,
  type FleetIndexOptions,
  type IndexedWorkerSpec,
  type WorkerLiveness,
  type WorkerLoad,
} from './fleet-index.js';
export { greedyGpu } from './greedy-gpu.js';
export { jsq, leastLoaded } from './jsq.js';
export { p2c } from './p2c.js';
export { random } from './random.js';
export { createRoundRobin } from './round-robin.js';
export { createSed, leastExpectedDelay, sed } from './sed.js';

