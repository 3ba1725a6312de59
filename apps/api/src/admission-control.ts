import { SchedError } from '@sched/core';
import type { CallerDefaults } from './caller.js';
import type { ExpectedWaits } from './expected-waits.js';
import type { InFlightLimit } from './in-flight-limit.js';
import type { WatcherLimit } from './watcher-limit.js';

/**
 * What a route needs of admission control beyond the per-key request rate (a middleware, see
 * rate-limit.ts): the default limits of a caller, its jobs in flight, its open watchers, and the
 * guard on expected wait per model.
 */
export interface AdmissionControl {
  readonly defaults: CallerDefaults;
  readonly inFlight: Pick<InFlightLimit, 'reserve' | 'release'>;
  readonly watchers: Pick<WatcherLimit, 'acquire' | 'tryAcquire'>;
  readonly load: Pick<ExpectedWaits, 'check' | 'admitted'>;
}

/** The 429 of a job that would pass its key's max jobs in flight. */
export function tooManyInFlight(max: number): SchedError {
  return new SchedError('too_many_in_flight', `this API key already has ${max} unfinished jobs (its max in flight); wait for some to finish`, { retryAfterS: 1 });
}
