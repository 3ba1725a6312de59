import type { PolicyName } from '@sched/core';
import { greedyGpu } from './greedy-gpu.js';
import { jsq } from './jsq.js';
import type { Policy } from './types.js';

export * from './types.js';
export { greedyGpu } from './greedy-gpu.js';
export { jsq, leastLoaded } from './jsq.js';

export const POLICIES: Readonly<Record<PolicyName, Policy>> = Object.freeze({
  'greedy-gpu': greedyGpu,
  jsq,
});
