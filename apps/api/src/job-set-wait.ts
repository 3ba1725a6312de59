import { isTerminal, pendingState, type JobView, type PendingState } from '@sched/core';
import type { TenantJobs } from './tenant-jobs.js';
import type { JobSetWatch } from './status-hub.js';

export type { PendingState };

export interface JobSetWaitOptions {
  jobs: Pick<TenantJobs, 'readMany' | 'expiresAt'>;
  /** Registered on `ids` before anything was read or added, so no change is missed. */
  watch: Pick<JobSetWatch, 'next'>;
  /** The jobs to wait for, each once. */
  ids: readonly string[];
  /**
   * Jobs known not to have ended without reading them: jobs this request has just added, watched
   * since before the add. They are read only when a message says they ended (or their deadline may
   * have passed); the others are read first.
   * @defaultValue none
   */
  known?: ReadonlyMap<string, PendingState>;
  waitS: number;
  /** The client left: stop waiting. */
  signal: AbortSignal;
  /**
   * Read the jobs still pending when the wait ends, for their current views.
   * @defaultValue false (a caller that answers them as accepted needs no view)
   */
  readPendingAtEnd?: boolean;
}

export interface JobSetWaitOutcome {
  /** The view of every job that ended, read after its end. */
  ended: Map<string, JobView>;
  /** Every job that has not ended: its last view read, or undefined when it was never read. */
  pending: Map<string, JobView | undefined>;
  /** Ids that name no job. */
  unknown: Set<string>;
}

/**
 * Waits until every job of a set has ended (completed, failed, cancelled) or `waitS` passes, on the
 * process's one status subscription: a job is read when a message says it ended (all of a wake's
 * ended jobs in one batch, with the worker the message names), never polled. A job with a deadline
 * that may pass while it waits (the expiry is derived when read and sends no message) is read once
 * more when its latest start comes (one timer for the set, at the soonest), not every few ms. The
 * one-job case is `POST /v1/jobs` with `Prefer: wait`.
 */
export async function waitForJobs(options: JobSetWaitOptions): Promise<JobSetWaitOutcome> {
  const { jobs, watch, ids, signal } = options;
  const deadline = Date.now() + options.waitS * 1000;
  const outcome: JobSetWaitOutcome = { ended: new Map(), pending: new Map(), unknown: new Set() };
  const states = new Map<string, PendingState>();

  const absorb = async (toRead: readonly string[], routes?: ReadonlyMap<string, string>): Promise<void> => {
    if (toRead.length === 0) return;
    const views = await jobs.readMany(toRead, routes);
    for (const [i, id] of toRead.entries()) {
      const view = views[i] ?? null;
      if (view === null) {
        outcome.pending.delete(id);
        states.delete(id);
        outcome.unknown.add(id);
      } else if (isTerminal(view.status)) {
        outcome.pending.delete(id);
        states.delete(id);
        outcome.ended.set(id, view);
      } else {
        outcome.pending.set(id, view);
        states.set(id, pendingState(view));
      }
    }
  };
  /** The jobs whose deadline has passed unannounced by `now` (strictly, as a read derives it), and the soonest expiry still to come. */
  const expiries = (now: number): { due: string[]; next: number } => {
    const due: string[] = [];
    let next = Infinity;
    for (const [id, state] of states) {
      const at = jobs.expiresAt(state) ?? Infinity;
      if (at < now) due.push(id);
      else next = Math.min(next, at);
    }
    return { due, next };
  };

  for (const [id, state] of options.known ?? []) {
    outcome.pending.set(id, undefined);
    states.set(id, state);
  }
  await absorb(ids.filter((id) => !outcome.pending.has(id)));
  while (outcome.pending.size > 0) {
    const now = Date.now();
    const { due, next } = expiries(now);
    if (due.length > 0) {
      // Read once at its latest start: now failed (deadline_exceeded), or still in time (started, or the
      // guessed submission was early) and re-timed from what the read says.
      await absorb(due);
      continue;
    }
    // Past the expiry by a millisecond, so the read derives it.
    const wake = await watch.next(Math.min(deadline, next + 1) - now, signal);
    if (wake === undefined) {
      if (Date.now() >= deadline || signal.aborted) break;
      continue;
    }
    if (wake.missed) {
      await absorb([...outcome.pending.keys()]);
      continue;
    }
    const routes = new Map<string, string>();
    for (const message of wake.messages) {
      const state = states.get(message.id);
      if (state === undefined) continue;
      if (!isTerminal(message.status)) {
        // A dispatch names the worker, whose class sets the expiry from now on.
        states.set(message.id, { ...state, status: message.status, worker: message.worker ?? state.worker });
        continue;
      }
      routes.set(message.id, message.worker ?? '');
    }
    const toRead = [...routes.keys()];
    for (const [id, worker] of routes) if (worker === '') routes.delete(id);
    await absorb(toRead, routes);
  }
  if (options.readPendingAtEnd === true && outcome.pending.size > 0 && !signal.aborted) await absorb([...outcome.pending.keys()]);
  return outcome;
}
