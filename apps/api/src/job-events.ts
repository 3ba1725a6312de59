import type { Response } from 'express';
import { isTerminal, jobNotFound, pendingState, statusVersion, type JobStatus, type JobView } from '@sched/core';
import { closedSignal } from './closed-signal.js';
import type { TenantJobs } from './tenant-jobs.js';
import type { StatusHub } from './status-hub.js';

/** A comment line this often keeps proxies from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;

/**
 * `GET /v1/jobs/:id/events`: one event per status change, named after the new status,
 * with `id:` = `statusVersion` (so `Last-Event-ID` resumes without repeats) and the job
 * view as data, read when the event is sent (it may already be further along than the
 * event's status). The first event is the job's status when the stream opens; the
 * stream ends after the terminal event.
 */
export async function streamJobEvents(
  jobs: Pick<TenantJobs, 'read' | 'expiresAt'>,
  hub: Pick<StatusHub, 'watch'>,
  id: string,
  lastEventId: number | undefined,
  res: Response,
): Promise<void> {
  let sent = lastEventId ?? -1;
  // Watch before the first read, so no change between the read and the wait is lost.
  const watch = hub.watch(id);
  const closed = closedSignal(res);
  try {
    let view = await jobs.read(id);
    if (view === null) throw jobNotFound(id);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    // HEAD: Node sends no headers before the end of a body-less answer, so a stream would hold it unanswered.
    if (res.req.method === 'HEAD') {
      res.end();
      return;
    }
    const send = (status: JobStatus, version: number, data: JobView): void => {
      if (version <= sent) return;
      sent = version;
      res.write(`id: ${version}\nevent: ${status}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    send(view.status, statusVersion(view.status, view.attempts), view);
    while (!isTerminal(view.status) && !closed.aborted) {
      // A deadline expires without a message (derived when read): the job is read once more when it
      // would, a millisecond past its latest start, rather than polled.
      const expiresAt = jobs.expiresAt(pendingState(view));
      const untilExpiry = expiresAt === undefined ? Infinity : Math.max(0, expiresAt + 1 - Date.now());
      const message = await watch.next(Math.min(untilExpiry, KEEP_ALIVE_MS), closed);
      if (closed.aborted) break;
      if (message === undefined) {
        if (expiresAt === undefined || Date.now() <= expiresAt) res.write(': keep-alive\n\n');
        else {
          const read = await jobs.read(id);
          // Gone (expired meanwhile): nothing more will happen to it.
          if (read === null) break;
          view = read;
          send(view.status, statusVersion(view.status, view.attempts), view);
        }
        continue;
      }
      view = (await jobs.read(id, message?.worker)) ?? view;
      if (message === null || message.attempt === undefined) send(view.status, statusVersion(view.status, view.attempts), view);
      else send(message.status, statusVersion(message.status, message.attempt), view);
      if (message !== null && isTerminal(message.status)) break;
    }
    // The read can show the end before its own message arrives: the terminal event is always sent.
    if (isTerminal(view.status)) send(view.status, statusVersion(view.status, view.attempts), view);
    res.end();
  } finally {
    watch.close();
  }
}
