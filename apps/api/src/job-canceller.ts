import { CANCEL_WAIT_MS, SchedError, isTerminal, type JobView } from '@sched/core';
import type { TenantJobs } from './tenant-jobs.js';
import type { StatusHub } from './status-hub.js';

export interface JobCancellerOptions {
  /** The canceller's tenant's view: a job it may not see is unknown here. */
  jobs: Pick<TenantJobs, 'read' | 'remove' | 'requestCancel' | 'requestStop' | 'recordTerminal'>;
  hub: Pick<StatusHub, 'watch' | 'publish'>;
  /**
   * How long a cancel waits for the dispatcher holding the job, or the worker running it, to answer.
   * @defaultValue CANCEL_WAIT_MS
   */
  waitMs?: number;
}

const notCancellable = (id: string, why: string): SchedError => new SchedError('job_not_cancellable', `job ${id} ${why}`);

/**
 * `DELETE /v1/jobs/:id`: the owner of a job decides. A job no one holds is removed here (BullMQ
 * refuses a locked one), recorded as cancelled and announced. A job locked in ingress is held by a
 * dispatcher (late binding, or in the middle of a dispatch): it is asked once, on the cancel
 * channel, and its next status message is the answer: `cancelled` (the dispatcher removed it and
 * wrote the record), `dispatched` (now in a worker queue, removed there if it has not started), or
 * nothing within `waitMs` (409). A running job is stopped by the host that runs it (BullMQ's
 * cancel is in-process): its id goes once on its worker's cancel channel, the worker fails it as
 * cancelled (not retried) and announces `cancelled`. Only a job that finished first answers 409.
 */
export class JobCanceller {
  private readonly jobs: JobCancellerOptions['jobs'];
  private readonly hub: JobCancellerOptions['hub'];
  private readonly waitMs: number;

  constructor(options: JobCancellerOptions) {
    this.jobs = options.jobs;
    this.hub = options.hub;
    this.waitMs = options.waitMs ?? CANCEL_WAIT_MS;
  }

  /** The cancelled view (again for a job already cancelled); null for an unknown job; 409 once it finished. */
  async cancel(id: string): Promise<JobView | null> {
    // Watch before the first read, so a change between any read and the wait is never missed.
    const watch = this.hub.watch(id);
    try {
      const deadline = Date.now() + this.waitMs;
      let askedDispatcher = false;
      let askedWorker: string | undefined;
      let view = await this.jobs.read(id);
      for (;;) {
        if (view === null || view.status === 'cancelled') return view;
        if (isTerminal(view.status)) throw notCancellable(id, `is ${view.status}; a finished job cannot be cancelled`);
        const workerId = view.worker?.id;
        if (view.status === 'running' && workerId !== undefined) {
          if (askedWorker !== workerId) {
            if ((await this.jobs.requestStop(id, workerId)) === 0) throw notCancellable(id, `is running on worker ${workerId}, whose host is not reachable; try again`);
            askedWorker = workerId;
          }
        } else if (view.status === 'dispatched' && workerId !== undefined) {
          if (await this.jobs.remove(id, workerId)) return await this.recordCancelled(view);
          // Locked: it started since the read (the read says running), else its next change is awaited.
          const after = await this.jobs.read(id, workerId);
          if (after?.status !== 'dispatched') {
            view = after;
            continue;
          }
        } else if (!askedDispatcher) {
          if (await this.jobs.remove(id)) {
            // BullMQ answers 1 for a job that is not there too: one dispatched meantime is in a worker queue now.
            const after = await this.jobs.read(id);
            if (after?.worker === undefined) return await this.recordCancelled(view);
            view = after;
            continue;
          }
          // Locked: a dispatcher holds it or is dispatching it; asked once, it answers on the status channel.
          await this.jobs.requestCancel(id);
          askedDispatcher = true;
        }
        const message = await watch.next(deadline - Date.now());
        if (message === undefined) {
          const holder = askedWorker === undefined ? 'held by a dispatcher that' : `running on worker ${askedWorker}, which`;
          throw notCancellable(id, `is ${holder} did not let go of it within ${this.waitMs} ms; try again`);
        }
        // null: the subscription reconnected and a message may be lost; the read tells.
        view = await this.jobs.read(id, message?.worker);
      }
    } finally {
      watch.close();
    }
  }

  private async recordCancelled(view: JobView): Promise<JobView> {
    const cancelled: JobView = { ...view, status: 'cancelled', timings: { ...view.timings, finishedAt: new Date().toISOString() } };
    delete cancelled.worker;
    await this.jobs.recordTerminal(cancelled);
    const message = { id: view.id, status: 'cancelled' as const, at: Date.now(), attempt: view.attempts };
    // Cancelled either way: a failed announcement must not turn the answer into an error.
    await this.hub.publish(view.worker === undefined ? message : { ...message, worker: view.worker.id }).catch(() => undefined);
    return cancelled;
  }
}
