import { randomUUID } from 'node:crypto';
import {
  MAX_LONG_POLL_S,
  jobAcceptedSchema,
  jobRequestBodySchema,
  jobSubmitHeadersSchema,
  jobViewSchema,
  type JobAccepted,
  type JobView,
  type PendingState,
} from '@sched/core';
import type { Logger } from '@sched/runtime';
import type { ApiMetrics } from '@sched/telemetry';
import { tooManyInFlight, type AdmissionControl } from './admission-control.js';
import { tenantOf } from './api-keys.js';
import { defineRoute, type ApiRoute } from './api-route.js';
import { callerOf } from './caller.js';
import { closedSignal } from './closed-signal.js';
import { jobAdmission, type JobAdmissionOptions } from './job-admission.js';
import { idempotentJobId, type JobGateway } from './job-gateway.js';
import { JOB_REJECTION_REASONS, type JobRejections } from './job-rejections.js';
import { waitForJobs } from './job-set-wait.js';
import type { StatusHub } from './status-hub.js';
import { preferenceApplied, submitPreference, type SubmitOutcome } from './submit-preference.js';

export interface SubmitRouteOptions {
  config: JobAdmissionOptions['config'];
  catalog: JobAdmissionOptions['catalog'];
  jobs: Pick<JobGateway, 'visibleTo'>;
  /** For `Prefer: wait`: the status messages of the jobs it waits on. */
  hub: Pick<StatusHub, 'watchMany' | 'rememberAccepted' | 'forgetAccepted'>;
  metrics: Pick<ApiMetrics, 'jobsSubmitted' | 'tenantJobsSubmitted'>;
  rejections: Pick<JobRejections, 'countProblem'>;
  logger: Pick<Logger, 'warn'>;
  admission: AdmissionControl;
}

/** The response headers of `Prefer`, on the 200 and the 202 alike. */
const PREFER_HEADERS = {
  'Preference-Applied': {
    description: 'The preferences of `Prefer` this answer honoured (`wait=<s>` with the wait used, `respond-async`); absent when none',
    schema: { type: 'string' as const },
  },
  Vary: { description: '`Prefer`: the answer depends on it', schema: { type: 'string' as const } },
};

/** `POST /v1/jobs`: every refusal counts in `sched_jobs_rejected_total` under its code. */
export function submitRoute(options: SubmitRouteOptions): ApiRoute {
  const { config, catalog, jobs, hub, metrics, rejections, logger, admission } = options;

  const admit = jobAdmission({ config, catalog, load: admission.load });

  return defineRoute({
    method: 'post',
    path: '/v1/jobs',
    operationId: 'submitJob',
    tag: 'jobs',
    summary: 'Submit a job',
    description: [
      'Validates the body, then adds the job to the ingress queue. The job id is made by the server.',
      `With \`Prefer: wait=<s>\` (at most ${MAX_LONG_POLL_S}), answers 200 with the job view as soon as the job is completed, failed or cancelled,`,
      'or 202 as usual when it has not ended within the wait: one request instead of a submit and a long-poll.',
    ].join(' '),
    request: { headers: jobSubmitHeadersSchema, body: jobRequestBodySchema },
    responses: {
      200: {
        description: 'The job ended within `Prefer: wait` (the same view as `GET /v1/jobs/{id}`, whatever its status)',
        headers: { 'Content-Location': { description: '`/v1/jobs/<id>`', schema: { type: 'string' } }, ...PREFER_HEADERS },
        content: { 'application/json': { schema: jobViewSchema } },
      },
      202: {
        description: 'Accepted (also the answer to a repeated Idempotency-Key with the same body), and not ended within `Prefer: wait` if there was one',
        headers: { Location: { description: '`/v1/jobs/<id>`', schema: { type: 'string' } }, ...PREFER_HEADERS },
        content: { 'application/json': { schema: jobAcceptedSchema } },
      },
    },
    errors: JOB_REJECTION_REASONS,
    onProblem: (error) => rejections.countProblem(error),
    handle: async ({ body: request, headers }, _req, res) => {
      // A cache must not give one client's 202 to another that asked to wait.
      res.vary('Prefer');
      admit(request);
      const caller = callerOf(res, admission.defaults);
      const preference = submitPreference(headers.Prefer);
      const idempotencyKey = headers['Idempotency-Key'];
      const tenantJobs = jobs.visibleTo(tenantOf(res));
      const scope = typeof res.locals.apiKey === 'string' ? res.locals.apiKey : 'global';
      const idempotency = idempotencyKey === undefined ? undefined : { key: idempotencyKey, scope };
      // The id is known before the add, so a wait can watch the job from before it exists.
      const id = idempotency === undefined ? randomUUID() : idempotentJobId(idempotency);
      const reservation = await admission.inFlight.reserve(caller.owner, caller.maxInFlight, [id]);
      if (reservation.admitted === 0) throw tooManyInFlight(caller.maxInFlight);
      // A key at its max of open watchers still submits: it is answered at once, without the wait.
      const watcher = preference.waitS === undefined ? null : admission.watchers.tryAcquire(caller.owner);
      const watch = watcher === null ? undefined : hub.watchMany([id]);
      // A new job (a fresh id, never a replay) is remembered before its add: its end message, however
      // soon it comes, then finds the entry and clears it; a long-poll until then need not read it first.
      // Taken before the add: no later than the submission time the job gets.
      const pending: PendingState = { status: 'queued', deadlineMs: request.deadlineMs, model: request.model, createdAt: Date.now() };
      if (idempotency === undefined) hub.rememberAccepted(id, { ...pending, owner: tenantJobs.viewer.id });
      // Not waited on (the key's watchers are all taken): `Preference-Applied` must not claim the wait.
      let outcome: SubmitOutcome = preference.waitS !== undefined && watcher === null ? 'interrupted' : 'accepted';
      let view: JobView | null = null;
      let accepted: JobAccepted;
      try {
        const result = await tenantJobs.submit(idempotency === undefined ? { request, id } : { request, idempotency });
        accepted = result.accepted;
        metrics.jobsSubmitted.inc({ model: request.model, priority: request.priority });
        if (result.replayed) {
          // The first job's place is its own (taken then, or ended since): a place taken now is given back.
          await admission.inFlight.release(caller.owner, reservation.added);
        } else {
          metrics.tenantJobsSubmitted.inc({ tenant: tenantJobs.viewer.name });
          admission.load.admitted(request.model);
        }
        if (watch !== undefined && preference.waitS !== undefined) {
          try {
            // A new job, watched since before its add, is read only once it ends; a replayed
            // Idempotency-Key answers the first job, which may have ended long ago: it is read first.
            const known = result.replayed ? undefined : new Map([[id, pending]]);
            const waited = await waitForJobs({ jobs: tenantJobs, watch, ids: [id], known, waitS: preference.waitS, signal: closedSignal(res) });
            view = waited.ended.get(id) ?? null;
            if (view !== null) outcome = 'finished';
          } catch (error) {
            // The job is in: a 503 now would read as a refusal, and its retry would add a second job.
            logger.warn({ jobId: id, err: String(error) }, 'Prefer: wait broke off; answering 202');
            outcome = 'interrupted';
          }
        }
      } catch (error) {
        hub.forgetAccepted(id);
        // Only a place taken now: one already there belongs to the job an earlier request added.
        await admission.inFlight.release(caller.owner, reservation.added);
        throw error;
      } finally {
        watch?.close();
        watcher?.();
      }
      const location = `/v1/jobs/${accepted.id}`;
      const applied = preferenceApplied(preference, outcome);
      if (applied !== undefined) res.setHeader('Preference-Applied', applied);
      if (view !== null) res.status(200).set('Content-Location', location).json(view);
      else res.status(202).location(location).json(accepted);
    },
  });
}
