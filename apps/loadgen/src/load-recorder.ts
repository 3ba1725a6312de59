import { ApiError } from '@sched/client';
import type { JobView } from '@sched/core';
import { build, type Histogram } from 'hdr-histogram-js';

export interface ErrorTally {
  count: number;
  /** The first message seen of this kind, to tell what went wrong. */
  example: string;
}

export interface WorkerTally {
  class: string;
  jobs: number;
}

/**
 * The kind an error is counted under: `http <status> <code>` for an API answer,
 * `job failed: <code>` / `job cancelled` for a job's own outcome, else the
 * client's code (`wait_timeout`, `request_timeout`, `network_error`, …) or `aborted`.
 */
export function errorKind(error: unknown): string {
  if (error instanceof ApiError) return error.status === undefined ? error.code : `http ${error.status} ${error.code}`;
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) return 'aborted';
  return 'client_error';
}

/**
 * Counters and the latency histogram of one run. Latency is submit → terminal view,
 * recorded in microseconds (3 significant digits) for completed jobs only.
 */
export class LoadRecorder {
  readonly latencyUs: Histogram = build({ numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1 });
  submitted = 0;
  completed = 0;
  failed = 0;
  readonly errors = new Map<string, ErrorTally>();
  readonly byClass = new Map<string, number>();
  readonly byWorker = new Map<string, WorkerTally>();
  /** Jobs sent 5 ms or more after they were due (slots full or a busy loop). */
  lateStarts = 0;
  maxStartLagMs = 0;
  firstSubmitAtMs: number | undefined;
  lastFinishAtMs: number | undefined;

  noteSubmit(atMs: number, lagMs: number): void {
    this.submitted += 1;
    this.firstSubmitAtMs ??= atMs;
    if (lagMs >= 5) this.lateStarts += 1;
    this.maxStartLagMs = Math.max(this.maxStartLagMs, lagMs);
  }

  /** A job that reached a terminal view `latencyMs` after its submission. */
  recordView(view: JobView, latencyMs: number, atMs: number): void {
    this.noteFinish(atMs);
    if (view.status !== 'completed') {
      const kind = view.status === 'failed' ? `job failed: ${view.error?.code ?? 'unknown'}` : `job ${view.status}`;
      this.tallyError(kind, view.error?.message ?? `job ${view.id} ${view.status}`);
      return;
    }
    this.completed += 1;
    this.latencyUs.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
    const workerClass = view.result?.class ?? view.worker?.class ?? 'unknown';
    const workerId = view.result?.worker ?? view.worker?.id ?? 'unknown';
    this.byClass.set(workerClass, (this.byClass.get(workerClass) ?? 0) + 1);
    const tally = this.byWorker.get(workerId) ?? { class: workerClass, jobs: 0 };
    tally.jobs += 1;
    this.byWorker.set(workerId, tally);
  }

  recordError(error: unknown, atMs: number): void {
    this.noteFinish(atMs);
    this.tallyError(errorKind(error), error instanceof Error ? error.message : String(error));
  }

  private noteFinish(atMs: number): void {
    this.lastFinishAtMs = Math.max(this.lastFinishAtMs ?? atMs, atMs);
  }

  private tallyError(kind: string, message: string): void {
    this.failed += 1;
    const tally = this.errors.get(kind);
    if (tally === undefined) this.errors.set(kind, { count: 1, example: message });
    else tally.count += 1;
  }
}
