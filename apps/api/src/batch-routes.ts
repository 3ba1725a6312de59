import { randomUUID } from 'node:crypto';
import {
  MAX_BATCH_JOBS,
  MAX_LONG_POLL_S,
  SchedError,
  describeFieldErrors,
  isInvalidJobRequest,
  jobBatchBodySchema,
  jobBatchHeadersSchema,
  jobBatchResultSchema,
  jobWaitBodySchema,
  jobWaitResultSchema,
  problemDetails,
  toSchedError,
  type Config,
  type JobBatchItem,
  type JobBatchResult,
  type JobView,
  type JobWaitResult,
  type SchedErrorCode,
} from '@sched/core';
import { tooManyInFlight } from './admission-control.js';
import { tenantOf } from './api-keys.js';
import { defineRoute, jsonResponse, type ApiRoute } from './api-route.js';
import { callerOf } from './caller.js';
import { closedSignal } from './closed-signal.js';
import { jobAdmission } from './job-admission.js';
import { batchItemKey, idempotentJobId, type JobGateway, type SubmitItem } from './job-gateway.js';
import { waitForJobs, type PendingState } from './job-set-wait.js';
import { preferenceApplied, submitPreference, type SubmitOutcome } from './submit-preference.js';
import type { SubmitRouteOptions } from './submit-route.js';

/** The single submit route's collaborators; a batch needs `submitMany` and its own body limit. */
export interface BatchRoutesOptions extends Omit<SubmitRouteOptions, 'config' | 'jobs'> {
  config: SubmitRouteOptions['config'] & Pick<Config, 'MAX_BATCH_BODY_BYTES'>;
  jobs: Pick<JobGateway, 'visibleTo'>;
}

/** What the whole request can be refused for; an item's own refusal is in its result. */
const ENVELOPE_ERRORS: readonly SchedErrorCode[] = ['invalid_json', 'validation_failed', 'unauthorized', 'rate_limited', 'payload_too_large', 'unsupported_media_type', 'redis_unavailable'];

/** An accepted item of the batch: where it is in the request, and its job. */
interface AcceptedItem {
  index: number;
  id: string;
  /** Added by this request (not a replayed key), so watched since before it existed. */
  fresh: boolean;
  state: PendingState;
}

/**
 * `POST /v1/jobs/batch` (many jobs in one request, each refused or accepted on its own) and
 * `POST /v1/jobs/wait` (many jobs waited on in one request: their ids do not fit a request line).
 */
export function batchRoutes(options: BatchRoutesOptions): ApiRoute[] {
  const { config, catalog, jobs, hub, metrics, rejections, logger, admission } = options;
  const admit = jobAdmission({ config, catalog, load: admission.load });

  const submitBatch = defineRoute({
    method: 'post',
    path: '/v1/jobs/batch',
    operationId: 'submitJobBatch',
    tag: 'jobs',
    summary: 'Submit many jobs',
    description: [
      `Up to ${MAX_BATCH_JOBS} jobs, each validated and admitted exactly as by \`POST /v1/jobs\`, added together (two Redis round trips for the whole batch).`,
      'A job that is refused does not sink the others: the answer is 200 with one result per job, in the order sent, each an accepted job or the problem',
      '`POST /v1/jobs` would have answered for it alone. Only a malformed envelope (not an object, `jobs` not an array of 1 to',
      `${MAX_BATCH_JOBS}, a body over ${config.MAX_BATCH_BODY_BYTES} bytes) refuses the whole request.`,
      `With \`Prefer: wait=<s>\` (at most ${MAX_LONG_POLL_S}) the answer waits until every accepted job has ended, or for that long.`,
    ].join(' '),
    request: { headers: jobBatchHeadersSchema, body: jobBatchBodySchema },
    maxBodyBytes: config.MAX_BATCH_BODY_BYTES,
    responses: {
      200: {
        description:
          'One result per job: `202` + `JobAccepted` (added, or its key replayed), `200` + `JobView` (ended within `Prefer: wait`), or its refusal (`status` + `problem`)',
        headers: {
          'Preference-Applied': { description: 'The preferences of `Prefer` this answer honoured; absent when none', schema: { type: 'string' } },
          Vary: { description: '`Prefer`: the answer depends on it', schema: { type: 'string' } },
        },
        content: { 'application/json': { schema: jobBatchResultSchema } },
      },
    },
    errors: ENVELOPE_ERRORS,
    onProblem: (error) => rejections.countProblem(error),
    handle: async ({ body, headers }, _req, res) => {
      res.vary('Prefer');
      const preference = submitPreference(headers.Prefer);
      const batchKey = headers['Idempotency-Key'];
      const tenantJobs = jobs.visibleTo(tenantOf(res));
      const scope = typeof res.locals.apiKey === 'string' ? res.locals.apiKey : 'global';
      const caller = callerOf(res, admission.defaults);
      const results = new Array<JobBatchItem | undefined>(body.jobs.length);
      const refuse = (index: number, error: SchedError): void => {
        rejections.countProblem(error);
        results[index] = { status: error.status, problem: problemDetails(error) };
      };
      const items: SubmitItem[] = [];
      const placed: AcceptedItem[] = [];
      for (const [index, job] of body.jobs.entries()) {
        if (isInvalidJobRequest(job)) {
          refuse(index, new SchedError('validation_failed', describeFieldErrors(job.invalid), { fieldErrors: job.invalid }));
          continue;
        }
        try {
          admit(job);
        } catch (error) {
          refuse(index, toSchedError(error));
          continue;
        }
        const idempotency = batchKey === undefined ? undefined : { key: batchItemKey(batchKey, index), scope };
        const id = idempotency === undefined ? randomUUID() : idempotentJobId(idempotency);
        items.push(idempotency === undefined ? { request: job, id } : { request: job, idempotency });
        // Taken before the add: no later than the submission time the job gets.
        const state: PendingState = { status: 'queued', deadlineMs: job.deadlineMs, model: job.model, createdAt: Date.now() };
        placed.push({ index, id, fresh: true, state });
      }
      // The key's max in flight: the items that fit are added, in order; the rest are refused.
      const reservation = await admission.inFlight.reserve(caller.owner, caller.maxInFlight, placed.map((item) => item.id));
      for (const item of placed.splice(reservation.admitted)) refuse(item.index, tooManyInFlight(caller.maxInFlight));
      items.splice(reservation.admitted);
      const takenNow = new Set(reservation.added);
      // A fresh id is remembered before its add (see StatusHub.rememberAccepted); a keyed one never.
      for (const [i, item] of placed.entries()) if (items[i]?.idempotency === undefined) hub.rememberAccepted(item.id, { ...item.state, owner: tenantJobs.viewer.id });
      // Watching before the add: a new job's end cannot slip by, so it need not be read until it ends.
      const watcher = preference.waitS === undefined || placed.length === 0 ? null : admission.watchers.tryAcquire(caller.owner);
      const watch = watcher === null ? undefined : hub.watchMany(placed.map((item) => item.id));
      let outcome: SubmitOutcome = preference.waitS !== undefined && placed.length > 0 && watcher === null ? 'interrupted' : 'accepted';
      try {
        const submitted = items.length === 0 ? [] : await tenantJobs.submitMany(items);
        const accepted: AcceptedItem[] = [];
        // Places taken now for items that added no job (refused, or replays of an earlier job) are given back.
        const giveBack: string[] = [];
        for (const [i, result] of submitted.entries()) {
          const item = placed[i];
          const request = items[i]?.request;
          if (item === undefined || request === undefined) continue;
          if (!result.ok || result.replayed) {
            if (takenNow.has(item.id)) giveBack.push(item.id);
          }
          if (!result.ok) {
            refuse(item.index, result.error);
            continue;
          }
          metrics.jobsSubmitted.inc({ model: request.model, priority: request.priority });
          if (!result.replayed) {
            metrics.tenantJobsSubmitted.inc({ tenant: tenantJobs.viewer.name });
            admission.load.admitted(request.model);
          }
          results[item.index] = { status: 202, job: result.accepted };
          accepted.push({ ...item, fresh: !result.replayed });
        }
        await admission.inFlight.release(caller.owner, giveBack);
        if (watch !== undefined && preference.waitS !== undefined && accepted.length > 0) {
          try {
            const waited = await waitForJobs({
              jobs: tenantJobs,
              watch,
              ids: accepted.map((item) => item.id),
              // A replayed key answers the first job, which may have ended long ago: it is read first.
              known: new Map(accepted.filter((item) => item.fresh).map((item) => [item.id, item.state])),
              waitS: preference.waitS,
              signal: closedSignal(res),
            });
            for (const item of accepted) {
              const view = waited.ended.get(item.id);
              if (view !== undefined) results[item.index] = { status: 200, job: view };
            }
            if (waited.ended.size === accepted.length) outcome = 'finished';
          } catch (error) {
            // The jobs are in: a 503 now would read as a refusal, and its retry would add them again.
            logger.warn({ jobs: accepted.length, err: String(error) }, 'Prefer: wait on a batch broke off; answering its jobs as accepted');
            outcome = 'interrupted';
          }
        }
      } catch (error) {
        for (const item of placed) hub.forgetAccepted(item.id);
        await admission.inFlight.release(caller.owner, reservation.added);
        throw error;
      } finally {
        watch?.close();
        watcher?.();
      }
      const answered = results.filter((result): result is JobBatchItem => result !== undefined);
      const refused = answered.filter((result) => 'problem' in result).length;
      const applied = preferenceApplied(preference, outcome);
      if (applied !== undefined) res.setHeader('Preference-Applied', applied);
      const answer: JobBatchResult = { accepted: answered.length - refused, refused, results: answered };
      res.status(200).json(answer);
    },
  });

  const waitForMany = defineRoute({
    method: 'post',
    path: '/v1/jobs/wait',
    operationId: 'waitForJobs',
    tag: 'jobs',
    summary: 'Wait for many jobs',
    description: [
      `Answers when every listed job (up to ${MAX_BATCH_JOBS} ids, in the body: they do not fit a request line) has ended, or after \`timeoutS\``,
      `(at most ${MAX_LONG_POLL_S}), with every job's view then and the ids still pending or unknown. Wakes on the jobs' status changes, never polls;`,
      'a client waiting longer calls again with the pending ids.',
    ].join(' '),
    request: { body: jobWaitBodySchema },
    responses: { 200: jsonResponse('Every known job, and which are still pending or unknown', jobWaitResultSchema) },
    errors: [...ENVELOPE_ERRORS, 'too_many_watchers'],
    handle: async ({ body }, _req, res) => {
      const tenantJobs = jobs.visibleTo(tenantOf(res));
      const ids = [...new Set(body.ids)];
      const release = admission.watchers.acquire(callerOf(res, admission.defaults).owner);
      const watch = hub.watchMany(ids);
      let waited;
      try {
        waited = await waitForJobs({ jobs: tenantJobs, watch, ids, waitS: body.timeoutS, signal: closedSignal(res), readPendingAtEnd: true });
      } finally {
        watch.close();
        release();
      }
      const views: JobView[] = [];
      for (const id of ids) {
        const view = waited.ended.get(id) ?? waited.pending.get(id);
        if (view !== undefined) views.push(view);
      }
      const pending = ids.filter((id) => waited.pending.has(id));
      const answer: JobWaitResult = { done: pending.length === 0, jobs: views, pending, unknown: ids.filter((id) => waited.unknown.has(id)) };
      res.json(answer);
    },
  });

  return [submitBatch, waitForMany];
}
