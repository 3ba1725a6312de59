import { setMaxListeners } from 'node:events';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { ApiError, type SchedClient } from '@sched/client';
import { isTerminal, type JobRequestInput } from '@sched/core';
import type { ArrivalSchedule } from './arrival-schedule.js';
import { LoadRecorder } from './load-recorder.js';

/** The calls the runner makes; a `SchedClient` is one. The batch calls are needed with `batchSize` > 1 only. */
export type LoadTarget = Pick<SchedClient, 'submit' | 'wait'> & Partial<Pick<SchedClient, 'submitBatch' | 'waitMany'>>;

export interface LoadPlan {
  readonly schedule: ArrivalSchedule;
  /** Jobs in flight at most; the next one waits for a slot. */
  readonly maxOutstanding: number;
  /** The request of the `index`-th job. */
  readonly requestFor: (index: number) => JobRequestInput;
  /** Per job, submit to terminal view, before it counts as a `wait_timeout`. */
  readonly timeoutS: number;
  /**
   * Jobs per request: arrivals are grouped in order into batches of this many (the last may be
   * smaller), each sent when its last job is due, with `POST /v1/jobs/batch`, and waited on with
   * `POST /v1/jobs/wait`. A job's latency is then its batch's: send to the wait that saw it ended.
   * @defaultValue 1 (one `POST /v1/jobs` and one long-poll per job)
   */
  readonly batchSize?: number;
}

export interface RunProgress {
  readonly submitted: number;
  readonly finished: number;
  readonly inFlight: number;
  readonly failed: number;
}

export interface LoadRunnerDeps {
  readonly target: LoadTarget;
  /** A monotonic clock in ms. @defaultValue performance.now */
  readonly now?: () => number;
  /** @defaultValue a timer that rejects when `signal` aborts */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Stops sending, abandons the jobs in flight (counted as `aborted`) and returns what was recorded. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: RunProgress) => void;
}

/** Sleeps under this are skipped: a timer cannot be that precise, and the job is sent now instead. */
const MIN_SLEEP_MS = 1;

/**
 * Sends the planned jobs on schedule, each timed from submit to its terminal view
 * (long-poll), with at most `maxOutstanding` in flight; resolves when every job sent
 * has finished.
 */
export async function runLoad(plan: LoadPlan, deps: LoadRunnerDeps): Promise<LoadRecorder> {
  const now = deps.now ?? (() => performance.now());
  const sleep = deps.sleep ?? ((ms: number, signal?: AbortSignal) => sleepFor(ms, undefined, { signal }));
  const { signal } = deps;
  // Every job in flight listens to the one signal through its current request.
  if (signal !== undefined) setMaxListeners(plan.maxOutstanding + 16, signal);
  const recorder = new LoadRecorder();
  const batchSize = plan.batchSize ?? 1;
  if (batchSize > plan.maxOutstanding) throw new RangeError(`batchSize ${batchSize} exceeds maxOutstanding ${plan.maxOutstanding}`);
  const running = new Set<Promise<void>>();
  let inFlight = 0;
  let slotFreed: (() => void) | undefined;
  let finished = 0;

  const report = (): void => deps.onProgress?.({ submitted: recorder.submitted, finished, inFlight, failed: recorder.failed });

  const runJob = async (index: number, startedAt: number): Promise<void> => {
    try {
      const accepted = await deps.target.submit(plan.requestFor(index), { signal });
      const view = await deps.target.wait(accepted.id, { timeoutS: plan.timeoutS, signal });
      const at = now();
      recorder.recordView(view, at - startedAt, at);
    } catch (error) {
      recorder.recordError(error, now());
    }
  };

  /** One batch: submitted in one request, its accepted jobs waited on together; every job recorded once. */
  const runBatch = async (indexes: readonly number[], startedAt: number): Promise<void> => {
    const { submitBatch, waitMany } = deps.target;
    let recorded = 0;
    const fail = (error: unknown, at: number): void => {
      recorded += 1;
      recorder.recordError(error, at);
    };
    try {
      if (submitBatch === undefined || waitMany === undefined) throw new TypeError('a batch run needs a target with submitBatch and waitMany');
      const { results } = await submitBatch(indexes.map((index) => plan.requestFor(index)), { signal });
      const ids: string[] = [];
      for (const item of results) {
        if ('problem' in item) fail(new ApiError(item.problem.code, `batch item: ${item.status} ${item.problem.detail}`, { status: item.status, problem: item.problem }), now());
        else ids.push(item.job.id);
      }
      if (ids.length === 0) return;
      const waited = await waitMany(ids, { timeoutS: plan.timeoutS, signal });
      const at = now();
      for (const view of waited.jobs) {
        if (!isTerminal(view.status)) {
          fail(new ApiError('wait_timeout', `job ${view.id} still ${view.status} after ${plan.timeoutS} s`), at);
          continue;
        }
        recorded += 1;
        recorder.recordView(view, at - startedAt, at);
      }
      for (const id of waited.unknown) fail(new ApiError('job_not_found', `job ${id} is gone`), at);
    } catch (error) {
      // The request failed: each job of the batch not yet recorded counts the error.
      const at = now();
      while (recorded < indexes.length) fail(error, at);
    }
  };

  const start = now();
  let shiftMs = 0;
  try {
    const offsets = plan.schedule.offsetsMs;
    for (let first = 0; first < offsets.length; first += batchSize) {
      const indexes = Array.from({ length: Math.min(batchSize, offsets.length - first) }, (_, i) => first + i);
      while (inFlight + indexes.length > plan.maxOutstanding) {
        await new Promise<void>((resolve) => (slotFreed = resolve));
      }
      signal?.throwIfAborted();
      // A batch goes when its last job is due: the client gathers arrivals until then.
      const dueAt = start + (offsets[first + indexes.length - 1] ?? 0) + shiftMs;
      const waitMs = dueAt - now();
      if (waitMs >= MIN_SLEEP_MS) await sleep(waitMs, signal);
      const sentAt = now();
      const lagMs = Math.max(0, sentAt - dueAt);
      if (plan.schedule.onLag === 'shift') shiftMs += lagMs;
      for (let i = 0; i < indexes.length; i++) recorder.noteSubmit(sentAt, lagMs);
      inFlight += indexes.length;
      const work = batchSize === 1 ? runJob(first, sentAt) : runBatch(indexes, sentAt);
      const task = work.finally(() => {
        running.delete(task);
        inFlight -= indexes.length;
        finished += indexes.length;
        report();
        slotFreed?.();
        slotFreed = undefined;
      });
      running.add(task);
      report();
    }
  } catch (error) {
    if (signal?.aborted !== true) throw error;
  }
  await Promise.all(running);
  return recorder;
}
