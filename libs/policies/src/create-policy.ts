import type { PolicyName } from '@sched/core';
import type { LateBindingOptions } from './late-binding.js';
import { createCostPolicy, type CostPolicyOptions } from './cost.js';
import { greedyGpu } from './greedy-gpu.js';
import { jsq } from './jsq.js';
import { p2c } from './p2c.js';
import { random } from './random.js';
import { createRoundRobin } from './round-robin.js';
import { createSed } from './sed.js';
import type { Policy } from './types.js';

export type PolicyOptions = LateBindingOptions & CostPolicyOptions;

/** Policies that hold jobs and bind them when a worker has room (`LateBinder`), rather than on arrival. */
export function isLateBinding(name: PolicyName | 'shared-queue'): boolean {
  return name === 'sed-late';
}

/** A fresh instance of a policy: stateful ones (`round-robin`) get their own state. */
export function createPolicy(name: PolicyName, options: PolicyOptions = {}): Policy {
  switch (name) {
    case 'greedy-gpu':
      return greedyGpu;
    case 'round-robin':
      return createRoundRobin();
    case 'random':
      return random;
    case 'jsq':
      return jsq;
    case 'p2c':
      return p2c;
    case 'sed':
      return createSed(options);
    // Its per-job choice, for a caller that binds at once (e.g. a job with a route already); the
    // holding is the caller's, with a LateBinder.
    case 'sed-late':
      return createSed(options);
    case 'cost':
      return createCostPolicy(options);
  }
}
