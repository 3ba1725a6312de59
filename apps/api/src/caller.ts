import type { Response } from 'express';
import type { Config } from '@sched/core';

/** Who is calling, for the limits of admission control: the owner id jobs are counted under, and its limits. */
export interface Caller {
  /** The API key's digest, or `anonymous` with auth off. */
  readonly owner: string;
  /** Requests per second (0: no limit). */
  readonly ratePerS: number;
  /** Unfinished jobs at most (0: no limit). */
  readonly maxInFlight: number;
}

export type CallerDefaults = Pick<Config, 'RATE_LIMIT_PER_S' | 'MAX_IN_FLIGHT_PER_KEY'>;

/** The caller of a request past its key check (res.locals.apiKey), with the deployment's default limits. */
export function callerOf(res: Response, defaults: CallerDefaults): Caller {
  const owner = typeof res.locals.apiKey === 'string' ? res.locals.apiKey : 'anonymous';
  return { owner, ratePerS: defaults.RATE_LIMIT_PER_S, maxInFlight: defaults.MAX_IN_FLIGHT_PER_KEY };
}
