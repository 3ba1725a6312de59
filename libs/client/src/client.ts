import {
  MAX_BATCH_JOBS,
  MAX_LONG_POLL_S,
  isTerminal,
  type JobAccepted,
  type JobBatchResult,
  type JobRequestInput,
  type JobStatus,
  type JobView,
  type JobWaitResult,
} from '@sched/core';
import { ApiError } from './api-error.js';
import { compileClientOptions, type ClientOptions } from './client-options.js';
import { HttpTransport } from './http-transport.js';
import { jobEvents, type JobEvent } from './job-events.js';
import { batchOutcomes, type BatchWaitResult } from './batch-outcome.js';

export { MAX_BATCH_JOBS, MAX_LONG_POLL_S };

export interface SubmitOptions {
  /**
   * Sent as `Idempotency-Key`: the same key with the same body gives back the same job.
   * @defaultValue none
   */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export interface WaitOptions {
  /**
   * Overall limit in seconds; past it `wait` throws an ApiError with code `wait_timeout`.
   * It is made of long-polls of at most 30 s each.
   * @defaultValue 300
   */
  timeoutS?: number;
  /**
   * Longest single long-poll in seconds (at most 30); shorter suits a proxy that
   * drops idle requests sooner.
   * @defaultValue 30
   */
  pollS?: number;
  /** Aborts the wait; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface SubmitAndWaitOptions extends SubmitOptions, WaitOptions {
  /**
   * Seconds the API may hold the submission for the job to end, sent as `Prefer: wait=<waitS>`
   * (more than 0, at most 30; decimals allowed, the API uses them to the millisecond). A job
   * that ends within it costs one request; one that does not is then long-polled as by `wait`.
   * @defaultValue 30, or `timeoutS` when that is shorter
   */
  waitS?: number;
}

export interface SubmitBatchOptions {
  /**
   * Sent as `Idempotency-Key`: retrying the same batch with it gives back each item's first answer
   * and adds no job twice (item i's key is derived from this one and i, so send the items in the same order).
   * @defaultValue none
   */
  idempotencyKey?: string;
  /**
   * Seconds the API may hold the answer for the batch's jobs to end, sent as `Prefer: wait=<waitS>`
   * (more than 0, at most 30): each job that ended comes back as a `200` result with its view.
   * @defaultValue none (the answer comes at once)
   */
  waitS?: number;
  signal?: AbortSignal;
}

export interface WaitManyOptions {
  /**
   * Overall limit in seconds; past it `waitMany` returns with the jobs still pending listed (it does not throw).
   * @defaultValue 300
   */
  timeoutS?: number;
  /**
   * Longest single wait request in seconds (more than 0, at most 30).
   * @defaultValue 30
   */
  pollS?: number;
  signal?: AbortSignal;
}

export type SubmitBatchAndWaitOptions = Omit<SubmitBatchOptions, 'waitS'> & WaitManyOptions;

export interface EventsOptions {
  /**
   * Sent as `Last-Event-ID`, to resume after the last event seen.
   * @defaultValue none (from the start)
   */
  lastEventId?: string;
  /** Closes the stream; the iterator then throws the signal's reason. */
  signal?: AbortSignal;
}

export interface SchedClient {
  /** `POST /v1/jobs`. */
  submit(request: JobRequestInput, options?: SubmitOptions): Promise<JobAccepted>;
  /** `GET /v1/jobs/:id`, the current view. */
  get(id: string, options?: { signal?: AbortSignal }): Promise<JobView>;
  /** Long-polls `GET /v1/jobs/:id?wait=` until the job is completed, failed or cancelled. */
  wait(id: string, options?: WaitOptions): Promise<JobView>;
  /**
   * Submits and waits in one: `POST /v1/jobs` with `Prefer: wait=<waitS>`, which the API answers
   * 200 with the ended job (completed, failed or cancelled) when it ends within `waitS`; on a 202
   * (the job still going, or an API that ignores `Prefer`) it long-polls like `wait` until the job
   * ends or `timeoutS` (counted from the submission) passes, then throws `wait_timeout`. Pass an
   * `idempotencyKey` to make the whole call safe to retry: a retry waits on the same job.
   */
  submitAndWait(request: JobRequestInput, options?: SubmitAndWaitOptions): Promise<JobView>;
  /**
   * `POST /v1/jobs/batch`: up to 1,000 jobs in one request. Resolves with one result per job, in
   * order: accepted (`status` 202, `job`), ended within `waitS` (200, the view), or refused (the
   * status and problem `submit` would have thrown for it). Throws only when the whole request is refused.
   */
  submitBatch(requests: readonly JobRequestInput[], options?: SubmitBatchOptions): Promise<JobBatchResult>;
  /**
   * `POST /v1/jobs/wait`, again with the jobs still pending, until every job has ended or `timeoutS`
   * passes; more than 1,000 ids are waited on in parts at once. The result lists every job's last
   * view and the ids still pending (at the timeout) or unknown.
   */
  waitMany(ids: readonly string[], options?: WaitManyOptions): Promise<JobWaitResult>;
  /**
   * `submitBatch` with `Prefer: wait`, then `waitMany` on the jobs that had not ended: one result per
   * request, in order, each its job's last view or its refusal.
   */
  submitBatchAndWait(requests: readonly JobRequestInput[], options?: SubmitBatchAndWaitOptions): Promise<BatchWaitResult>;
  /** `DELETE /v1/jobs/:id`: the cancelled view, or an ApiError `job_not_cancellable` (409). */
  cancel(id: string): Promise<JobView>;
  /** `GET /v1/jobs/:id/events`: the job's status changes until the stream closes. */
  events(id: string, options?: EventsOptions): AsyncGenerator<JobEvent, void, undefined>;
  /** `GET /v1/fleet`. Its shape is not in `@sched/core` yet, so it comes back unchecked. */
  fleet(): Promise<unknown>;
  /** `GET /v1/models`. Its shape is not in `@sched/core` yet, so it comes back unchecked. */
  models(): Promise<unknown>;
  /** Closes the keep-alive connections. */
  close(): Promise<void>;
}

export function isTerminalStatus(status: JobStatus): boolean {
  return isTerminal(status);
}

/** Only a job view can have ended: an accepted job is `queued`. */
function hasEnded(answer: JobView | JobAccepted): answer is JobView {
  return isTerminal(answer.status);
}

function jobPath(id: string, suffix = ''): string {
  return `v1/jobs/${encodeURIComponent(id)}${suffix}`;
}

export function createClient(options: ClientOptions): SchedClient {
  const compiled = compileClientOptions(options);
  const http = new HttpTransport(compiled);

  /** Long-polls until the job ends; past `deadline` (a `performance.now()` time) throws `wait_timeout`. */
  async function pollUntil(id: string, deadline: number, limits: { timeoutS: number; pollS: number; signal: AbortSignal | undefined }): Promise<JobView> {
    for (;;) {
      const remainingS = (deadline - performance.now()) / 1000;
      // Whole seconds, so the query is valid whatever the server's parser; the last
      // poll may overrun the deadline by under a second.
      const waitS = Math.min(limits.pollS, Math.max(1, Math.ceil(remainingS)));
      const view = await http.json<JobView>({
        method: 'GET',
        path: jobPath(id, `?wait=${waitS}`),
        signal: limits.signal,
        extraTimeoutMs: waitS * 1000,
      });
      if (isTerminalStatus(view.status)) return view;
      if (performance.now() >= deadline) {
        throw new ApiError('wait_timeout', `job ${id} still ${view.status} after ${limits.timeoutS} s`, {
          method: 'GET',
          path: `/${jobPath(id)}`,
        });
      }
    }
  }

  /** The options `wait` and `submitAndWait` share, checked, with their defaults. */
  function waitLimits(waitOptions: WaitOptions): { timeoutS: number; pollS: number; signal: AbortSignal | undefined } {
    const timeoutS = waitOptions.timeoutS ?? 300;
    if (!(timeoutS > 0)) throw new TypeError(`timeoutS: expected a positive number of seconds, got ${timeoutS}`);
    const pollS = waitOptions.pollS ?? MAX_LONG_POLL_S;
    if (!Number.isInteger(pollS) || pollS < 1 || pollS > MAX_LONG_POLL_S) {
      throw new TypeError(`pollS: expected a whole number of seconds from 1 to ${MAX_LONG_POLL_S}, got ${pollS}`);
    }
    return { timeoutS, pollS, signal: waitOptions.signal };
  }

  async function wait(id: string, waitOptions: WaitOptions = {}): Promise<JobView> {
    const limits = waitLimits(waitOptions);
    return pollUntil(id, performance.now() + limits.timeoutS * 1000, limits);
  }

  async function submitAndWait(request: JobRequestInput, options: SubmitAndWaitOptions = {}): Promise<JobView> {
    const limits = waitLimits(options);
    const waitS = options.waitS ?? Math.min(MAX_LONG_POLL_S, limits.timeoutS);
    if (!(waitS > 0 && waitS <= MAX_LONG_POLL_S)) {
      throw new TypeError(`waitS: expected more than 0 and at most ${MAX_LONG_POLL_S} seconds, got ${waitS}`);
    }
    const deadline = performance.now() + limits.timeoutS * 1000;
    const answer = await http.send<JobView | JobAccepted>({
      method: 'POST',
      path: 'v1/jobs',
      body: request,
      headers: { prefer: `wait=${waitS}`, ...(options.idempotencyKey === undefined ? {} : { 'idempotency-key': options.idempotencyKey }) },
      signal: options.signal,
      extraTimeoutMs: waitS * 1000,
    });
    if (answer.status === 200 && hasEnded(answer.body)) return answer.body;
    return pollUntil(answer.body.id, deadline, limits);
  }

  async function submitBatch(requests: readonly JobRequestInput[], batchOptions: SubmitBatchOptions = {}): Promise<JobBatchResult> {
    const { waitS } = batchOptions;
    if (waitS !== undefined && !(waitS > 0 && waitS <= MAX_LONG_POLL_S)) {
      throw new TypeError(`waitS: expected more than 0 and at most ${MAX_LONG_POLL_S} seconds, got ${waitS}`);
    }
    if (requests.length < 1 || requests.length > MAX_BATCH_JOBS) {
      throw new TypeError(`requests: expected 1 to ${MAX_BATCH_JOBS} jobs, got ${requests.length}`);
    }
    return http.json<JobBatchResult>({
      method: 'POST',
      path: 'v1/jobs/batch',
      body: { jobs: requests },
      headers: {
        ...(waitS === undefined ? {} : { prefer: `wait=${waitS}` }),
        ...(batchOptions.idempotencyKey === undefined ? {} : { 'idempotency-key': batchOptions.idempotencyKey }),
      },
      signal: batchOptions.signal,
      extraTimeoutMs: (waitS ?? 0) * 1000,
    });
  }

  /** One part of at most MAX_BATCH_JOBS ids, waited on until it ends or `deadline` (a `performance.now()` time). */
  async function waitPart(ids: readonly string[], deadline: number, pollS: number, signal: AbortSignal | undefined): Promise<JobWaitResult> {
    const views = new Map<string, JobView>();
    const unknown = new Set<string>();
    let pending = [...new Set(ids)];
    for (;;) {
      const timeoutS = Math.min(pollS, Math.max(0, (deadline - performance.now()) / 1000));
      const answer = await http.json<JobWaitResult>({
        method: 'POST',
        path: 'v1/jobs/wait',
        body: { ids: pending, timeoutS: Math.round(timeoutS * 1000) / 1000 },
        signal,
        extraTimeoutMs: timeoutS * 1000,
      });
      for (const view of answer.jobs) views.set(view.id, view);
      for (const id of answer.unknown) unknown.add(id);
      pending = answer.pending;
      if (pending.length === 0 || performance.now() >= deadline) break;
    }
    const order = [...new Set(ids)];
    return {
      done: pending.length === 0,
      jobs: order.flatMap((id) => views.get(id) ?? []),
      pending: order.filter((id) => pending.includes(id)),
      unknown: order.filter((id) => unknown.has(id)),
    };
  }

  async function waitMany(ids: readonly string[], waitOptions: WaitManyOptions = {}): Promise<JobWaitResult> {
    const timeoutS = waitOptions.timeoutS ?? 300;
    if (!(timeoutS > 0)) throw new TypeError(`timeoutS: expected a positive number of seconds, got ${timeoutS}`);
    const pollS = waitOptions.pollS ?? MAX_LONG_POLL_S;
    if (!(pollS > 0 && pollS <= MAX_LONG_POLL_S)) throw new TypeError(`pollS: expected more than 0 and at most ${MAX_LONG_POLL_S} seconds, got ${pollS}`);
    const unique = [...new Set(ids)];
    if (unique.length === 0) return { done: true, jobs: [], pending: [], unknown: [] };
    const deadline = performance.now() + timeoutS * 1000;
    const parts: string[][] = [];
    for (let i = 0; i < unique.length; i += MAX_BATCH_JOBS) parts.push(unique.slice(i, i + MAX_BATCH_JOBS));
    const results = await Promise.all(parts.map((part) => waitPart(part, deadline, pollS, waitOptions.signal)));
    return {
      done: results.every((r) => r.done),
      jobs: results.flatMap((r) => r.jobs),
      pending: results.flatMap((r) => r.pending),
      unknown: results.flatMap((r) => r.unknown),
    };
  }

  async function submitBatchAndWait(requests: readonly JobRequestInput[], options: SubmitBatchAndWaitOptions = {}): Promise<BatchWaitResult> {
    const timeoutS = options.timeoutS ?? 300;
    if (!(timeoutS > 0)) throw new TypeError(`timeoutS: expected a positive number of seconds, got ${timeoutS}`);
    const started = performance.now();
    const submitted = await submitBatch(requests, { ...options, waitS: Math.min(MAX_LONG_POLL_S, timeoutS) });
    const still = submitted.results.flatMap((item) => (item.status === 202 && 'job' in item ? [item.job.id] : []));
    const leftS = timeoutS - (performance.now() - started) / 1000;
    const waited = still.length === 0 || leftS <= 0 ? undefined : await waitMany(still, { ...options, timeoutS: leftS });
    return batchOutcomes(submitted, waited);
  }

  return {
    submit: (request, submitOptions = {}) =>
      http.json<JobAccepted>({
        method: 'POST',
        path: 'v1/jobs',
        body: request,
        headers: submitOptions.idempotencyKey === undefined ? {} : { 'idempotency-key': submitOptions.idempotencyKey },
        signal: submitOptions.signal,
      }),
    get: (id, getOptions = {}) => http.json<JobView>({ method: 'GET', path: jobPath(id), signal: getOptions.signal }),
    wait,
    submitAndWait,
    submitBatch,
    waitMany,
    submitBatchAndWait,
    cancel: (id) => http.json<JobView>({ method: 'DELETE', path: jobPath(id) }),
    events: (id, eventsOptions = {}) => jobEvents(http, jobPath(id, '/events'), eventsOptions),
    fleet: () => http.json<unknown>({ method: 'GET', path: 'v1/fleet' }),
    models: () => http.json<unknown>({ method: 'GET', path: 'v1/models' }),
    close: () => http.close(),
  };
}
