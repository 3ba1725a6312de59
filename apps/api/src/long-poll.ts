import { DEADLINE_RECHECK_MS, isTerminal, mayMissDeadline, type JobView } from '@sched/core';
import type { JobGateway } from './job-gateway.js';
import type { StatusHub } from './status-hub.js';

/**
 * `GET /v1/jobs/:id?wait=<s>`: the job as soon as it is finished, or after `waitS` seconds (or
 * when the client goes away) as it is then; null for an unknown job. Watches before reading, so
 * a change between the read and the wait is never missed.
 */
export async function longPoll(
  jobs: Pick<JobGateway, 'read'>,
  hub: Pick<StatusHub, 'watch'>,
  id: string,
  waitS: number,
  closed: AbortSignal,
): Promise<JobView | null> {
  const watch = hub.watch(id);
  try {
    let view = await jobs.read(id);
    const deadline = Date.now() + waitS * 1000;
    while (view !== null && !isTerminal(view.status)) {
      // A deadline expires without a message (it is derived when read): re-read often enough to see it.
      const slice = mayMissDeadline(view) ? DEADLINE_RECHECK_MS : Infinity;
      const message = await watch.next(Math.min(deadline - Date.now(), slice), closed);
      if (message === undefined) {
        if (Date.now() >= deadline || closed.aborted) break;
        view = (await jobs.read(id)) ?? view;
        continue;
      }
      if (message !== null && !isTerminal(message.status)) continue;
      view = (await jobs.read(id, message?.worker)) ?? view;
    }
    return view;
  } finally {
    watch.close();
  }
}
