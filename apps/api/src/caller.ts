import type { Response } from 'express';
import type { Config } from '@sched/core';
import { tenantOf } from './api-keys.js';

/** Who is calling, for the limits of admission control: the owner id jobs are counted under, and its limits. */
export interface Caller {
  /** The tenant's id: its API key's digest, or `anonymous` with auth off. */
  readonly owner: string;
  /** Requests per second (0: no limit). */
  readonly ratePerS: number;
  /** Unfinished jobs at most (0: no limit). */
  readonly maxInFlight: number;
}

export type CallerDefaults = Pick<Config, 'RATE_LIMIT_PER_S' | 'MAX_IN_FLIGHT_PER_KEY'>;

/** The caller of a request past its key check: its tenant, with the key's own limits (API_KEYS_FILE) or the deployment's defaults. */
export function callerOf(res: Response, defaults: CallerDefaults): Caller {
  const tenant = tenantOf(res);
  return {
    owner: tenant.id,
    ratePerS: tenant.limits.ratePerS ?? defaults.RATE_LIMIT_PER_S,
    maxInFlight: tenant.limits.maxInFlight ?? defaults.MAX_IN_FLIGHT_PER_KEY,
  };
}
