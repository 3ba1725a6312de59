import { MAX_LONG_POLL_S } from '@sched/core';
import { formatPreferences, parsePrefer } from './prefer-header.js';

/**
 * What `POST /v1/jobs` makes of its `Prefer` header: RFC 7240 `wait` (§4.3) and `respond-async`
 * (§4.1). Where the RFC leaves the choice to the server:
 *
 * - `wait=N` holds the answer up to N s for the job to end. N may have decimals (the RFC's
 *   delta-seconds are whole; a fraction costs nothing to honour); it is used to the millisecond.
 * - N above MAX_LONG_POLL_S is clamped to it, and `Preference-Applied` names the wait used, so
 *   the client can see it was shortened.
 * - An N that is 0, under a millisecond or not a plain number (`wait=soon`, `wait=-1`,
 *   `wait=1e3`) is ignored, as the RFC asks of what a server does not understand (§2): a 202 at
 *   once, and no `wait` in `Preference-Applied`. A repeated `wait` counts once, the first (§2).
 * - `respond-async` alone is the 202 at once, as without a header, but applied. With a wait it
 *   means "asynchronously if it takes longer than N" (§4.3): the wait, then a 202 naming both.
 */
export interface SubmitPreference {
  /** Seconds to hold the answer for the job to end; undefined: answer 202 at once. */
  readonly waitS: number | undefined;
  readonly respondAsync: boolean;
}

/** How the answer came about, for its `Preference-Applied`. */
export type SubmitOutcome =
  /** 200: the job ended within the wait. */
  | 'finished'
  /** 202: no wait was asked for, or the job did not end within it. */
  | 'accepted'
  /** 202: the wait broke off (Redis failed while waiting); the job is accepted all the same. */
  | 'interrupted';

const WAIT_VALUE = /^\d+(?:\.\d+)?$/;

export function submitPreference(header: string | undefined): SubmitPreference {
  const preferences = parsePrefer(header);
  const wait = preferences.get('wait');
  const ms = wait !== undefined && WAIT_VALUE.test(wait) ? Math.min(Math.round(Number(wait) * 1000), MAX_LONG_POLL_S * 1000) : 0;
  return { waitS: ms > 0 ? ms / 1000 : undefined, respondAsync: preferences.has('respond-async') };
}

/** The `Preference-Applied` value of an answer, or undefined when it honoured no preference. */
export function preferenceApplied(preference: SubmitPreference, outcome: SubmitOutcome): string | undefined {
  const applied = new Map<string, string | undefined>();
  if (preference.respondAsync && outcome !== 'finished') applied.set('respond-async', undefined);
  if (preference.waitS !== undefined && outcome !== 'interrupted') applied.set('wait', String(preference.waitS));
  return applied.size === 0 ? undefined : formatPreferences(applied);
}
