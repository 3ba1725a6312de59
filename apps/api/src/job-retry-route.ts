import { SchedError, jobAcceptedSchema, jobIdParamsSchema, jobNotFound, jobViewSchema, type JobPayload, type JobRequest } from '@sched/core';
import type { ApiMetrics } from '@sched/telemetry';
import { v5 as uuidv5 } from 'uuid';
import { tooManyInFlight, type AdmissionControl } from './admission-control.js';
import { tenantOf } from './api-keys.js';
import { defineRoute, type ApiRoute } from './api-route.js';
import { callerOf } from './caller.js';
import { jobAdmission, type JobAdmissionOptions } from './job-admission.js';
import type { JobGateway } from './job-gateway.js';

export interface JobRetryRouteOptions {
  config: JobAdmissionOptions['config'];
  catalog: JobAdmissionOptions['catalog'];
  jobs: Pick<JobGateway, 'visibleTo'>;
  metrics: Pick<ApiMetrics, 'jobsSubmitted' | 'tenantJobsSubmitted'>;
  /** The retry is a new job: the expected-wait guard and the caller's max in flight apply. */
  admission: Pick<AdmissionControl, 'defaults' | 'inFlight' | 'load'>;
}

/** UUID v5 namespace of the ids of retries. */
const RETRY_NAMESPACE = '3b0f6c1e-5a8d-5e2f-9c47-8d1e2f3a4b5c';

/** The one retry a failed job gets: the same id on every call, so a repeated call adds no second job. */
function retryJobId(failedId: string): string {
  return uuidv5(failedId, RETRY_NAMESPACE);
}

/** What a job was asked for, without what the scheduler stamped on it. */
function requestOf(payload: JobPayload): JobRequest {
  const { model, input, priority, deadlineMs, size, webhook, metadata } = payload;
  return {
    model,
    input,
    priority,
    ...(deadlineMs === undefined ? {} : { deadlineMs }),
    ...(size === undefined ? {} : { size }),
    ...(webhook === undefined ? {} : { webhook }),
    ...(metadata === undefined ? {} : { metadata }),
  };
}

/** `POST /v1/jobs/:id/retry`: the owner of a failed job submits it again in one call. */
export function jobRetryRoute(options: JobRetryRouteOptions): ApiRoute {
  const { config, catalog, jobs, metrics, admission } = options;
  const admit = jobAdmission({ config, catalog, load: admission.load });
  return defineRoute({
    method: 'post',
    path: '/v1/jobs/:id/retry',
    operationId: 'retryJob',
    tag: 'jobs',
    summary: 'Retry a failed job',
    description: [
      'Submits a failed job again as a new job (same model, input, priority, deadline, size, webhook and metadata; admitted as `POST /v1/jobs` would),',
      "owned by the failed job's owner, whose view carries `retryOf`. A failed job has one retry: its id is derived from the failed job's,",
      'so calling again answers 200 with that job as it is now instead of adding another. Only a `failed` job can be retried (409 otherwise);',
      'a job past its retention, or another tenant\'s, is 404.',
    ].join(' '),
    request: { params: jobIdParamsSchema },
    responses: {
      202: {
        description: 'The new job',
        headers: { Location: { description: '`/v1/jobs/<new id>`', schema: { type: 'string' } } },
        content: { 'application/json': { schema: jobAcceptedSchema } },
      },
      200: {
        description: 'The job was already retried: its retry as it is now',
        headers: { 'Content-Location': { description: '`/v1/jobs/<retry id>`', schema: { type: 'string' } } },
        content: { 'application/json': { schema: jobViewSchema } },
      },
    },
    errors: ['unauthorized', 'rate_limited', 'job_not_found', 'job_not_retryable', 'unknown_model', 'webhooks_disabled', 'webhook_url_forbidden', 'overloaded', 'too_many_in_flight', 'redis_unavailable'],
    notFound: (params) => jobNotFound(String(params.id)),
    handle: async ({ params: { id } }, _req, res) => {
      const visible = jobs.visibleTo(tenantOf(res));
      const retryId = retryJobId(id);
      // Both read at once: the failed job, and its retry if an earlier call made it.
      const [failed, earlier] = await Promise.all([visible.read(id), visible.read(retryId)]);
      if (failed === null) throw jobNotFound(id);
      const location = `/v1/jobs/${retryId}`;
      if (earlier !== null) {
        res.status(200).set('Content-Location', location).json(earlier);
        return;
      }
      if (failed.status !== 'failed') throw new SchedError('job_not_retryable', `job ${id} is ${failed.status}; only a failed job can be retried`);
      const payload = await visible.readPayload(id);
      if (payload === null) throw jobNotFound(id);
      const request = requestOf(payload);
      admit(request);
      // Counted against the key that asks (an admin retrying a tenant's job: the admin's).
      const caller = callerOf(res, admission.defaults);
      const reservation = await admission.inFlight.reserve(caller.owner, caller.maxInFlight, [retryId]);
      if (reservation.admitted === 0) throw tooManyInFlight(caller.maxInFlight);
      let accepted;
      try {
        ({ accepted } = await visible.resubmit({ request, id: retryId, retryOf: id, ...(payload.weight === undefined ? {} : { weight: payload.weight }) }));
      } catch (error) {
        await admission.inFlight.release(caller.owner, reservation.added);
        throw error;
      }
      admission.load.admitted(request.model);
      metrics.jobsSubmitted.inc({ model: request.model, priority: request.priority });
      metrics.tenantJobsSubmitted.inc({ tenant: visible.viewer.name });
      res.status(202).location(location).json(accepted);
    },
  });
}
