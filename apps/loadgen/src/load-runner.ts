import { setMaxListeners } from 'node:events';
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { SchedClient } from '@sched/client';
import type { JobRequestInput } from '@sched/core';
import type { ArrivalSchedule } from './arrival-schedule.js';
import { LoadRecorder } from './load-recorder.js';

/** The two calls the runner makes; a `SchedClient` is one. */
export type LoadTarget = Pick<SchedClient, 'submit' | 'wait'>;

export interface LoadPlan {
  readonly schedule: ArrivalSchedule;
  /** Jobs in flight at most; the next one waits for a slot. */
  readonly maxOutstanding: number;
  /** The request of the `index`-th job. */
  readonly requestFor: (index: number) => JobRequestInput;
  /** Per job, submit to terminal view, before it counts as a `wait_timeout`. */
  readonly timeoutS: number;
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
  const running = new Set<Promise<void>>();
  let slotFreed: (() => void) | undefined;
  let finished = 0;

  const report = (): void =>
    deps.onProgress?.({ submitted: recorder.submitted, finished, inFlight: running.size, failed: recorder.failed });

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

  const start = now();
  let shiftMs = 0;
  try {
    for (const [index, offsetMs] of plan.schedule.offsetsMs.entries()) {
      while (running.size >= plan.maxOutstanding) {
        await new Promise<void>((resolve) => (slotFreed = resolve));
      }
      signal?.throwIfAborted();
      const dueAt = start + offsetMs + shiftMs;
      const waitMs = dueAt - now();
      if (waitMs >= MIN_SLEEP_MS) await sleep(waitMs, signal);
      const sentAt = now();
      const lagMs = Math.max(0, sentAt - dueAt);
      if (plan.schedule.onLag === 'shift') shiftMs += lagMs;
      recorder.noteSubmit(sentAt, lagMs);
      const job = runJob(index, sentAt).finally(() => {
        running.delete(job);
        finished += 1;
        report();
        slotFreed?.();
        slotFreed = undefined;
      });
      running.add(job);
      report();
    }
  } catch (error) {
    if (signal?.aborted !== true) throw error;
  }
  await Promise.all(running);
  return recorder;
}
