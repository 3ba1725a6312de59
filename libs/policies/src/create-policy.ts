import type { PolicyName } from '@sched/core';
import type { SamplingOptions } from './candidates.js';
import { createCostPolicy, type CostPolicyOptions } from './cost.js';
import { greedyGpu } from './greedy-gpu.js';
import { jsq } from './jsq.js';
import { p2c } from './p2c.js';
import { random } from './random.js';
import { createRoundRobin } from './round-robin.js';
import { createSed } from './sed.js';
import type { Policy } from './types.js';

export type PolicyOptions = SamplingOptions & CostPolicyOptions;

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
    case 'cost':
      return createCostPolicy(options);
  }
}
