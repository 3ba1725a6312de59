import { canSeeJob, type JobView } from '@sched/core';
import type { TenantJobs } from './tenant-jobs.js';
import { waitForJobs } from './job-set-wait.js';
import type { StatusHub } from './status-hub.js';

/**
 * `GET /v1/jobs/:id?wait=<s>`: the job as soon as it is finished, or after `waitS` seconds (or
 * when the client goes away) as it is then; null for an unknown job. The one-job case of the wait
 * for a set: it watches before reading, so a change between the read and the wait is never missed,
 * and a job this process accepted and has not seen end is not read before it ends (the common
 * submit-then-long-poll: one read per job instead of two).
 */
export async function longPoll(
  jobs: Pick<TenantJobs, 'readMany' | 'viewer' | 'expiresAt'>,
  hub: Pick<StatusHub, 'watchMany' | 'acceptedState'>,
  id: string,
  waitS: number,
  closed: AbortSignal,
): Promise<JobView | null> {
  const watch = hub.watchMany([id]);
  try {
    // Asked after the watch is in place: an end message from now on reaches the watch.
    // Only for the job's owner: another tenant waiting out someone else's job would learn it exists.
    const state = hub.acceptedState(id);
    const known = state === undefined || !canSeeJob(jobs.viewer, state.owner) ? undefined : new Map([[id, state]]);
    const outcome = await waitForJobs({ jobs, watch, ids: [id], known, waitS, signal: closed, readPendingAtEnd: true });
    return outcome.ended.get(id) ?? outcome.pending.get(id) ?? null;
  } finally {
    watch.close();
  }
}
