import { SchedError, jobAcceptedSchema, jobRequestBodySchema, jobSubmitHeadersSchema, type Catalog, type Config, type JobRequest } from '@sched/core';
import type { ApiMetrics } from '@sched/telemetry';
import { defineRoute, type ApiRoute } from './api-route.js';
import type { JobGateway } from './job-gateway.js';
import { JOB_REJECTION_REASONS, type JobRejections } from './job-rejections.js';
import { forbiddenWebhookUrl } from './webhook-url.js';

export interface SubmitRouteOptions {
  config: Pick<Config, 'WEBHOOK_SECRET' | 'WEBHOOK_ALLOW_PRIVATE'>;
  catalog: Pick<Catalog, 'models'>;
  jobs: Pick<JobGateway, 'submit'>;
  metrics: Pick<ApiMetrics, 'jobsSubmitted'>;
  rejections: Pick<JobRejections, 'countProblem'>;
}

/** `POST /v1/jobs`: every refusal counts in `sched_jobs_rejected_total` under its code. */
export function submitRoute(options: SubmitRouteOptions): ApiRoute {
  const { config, catalog, jobs, metrics, rejections } = options;

  /** What the schema cannot tell: the model is in the catalog, and a webhook may be sent. */
  const admit = (request: JobRequest): void => {
    if (catalog.models[request.model] === undefined) {
      throw new SchedError('unknown_model', `model "${request.model}" is not in the catalog (GET /v1/models)`, {
        fieldErrors: [{ path: 'model', message: 'unknown model' }],
      });
    }
    if (request.webhook === undefined) return;
    if (config.WEBHOOK_SECRET === undefined) {
      throw new SchedError('webhooks_disabled', 'this deployment has no WEBHOOK_SECRET, so it sends no webhooks; poll, long-poll or use SSE', {
        fieldErrors: [{ path: 'webhook', message: 'webhooks are not enabled here' }],
      });
    }
    const forbidden = config.WEBHOOK_ALLOW_PRIVATE ? null : forbiddenWebhookUrl(request.webhook.url);
    if (forbidden !== null) {
      throw new SchedError('webhook_url_forbidden', `webhook.url is not allowed: ${forbidden} (set WEBHOOK_ALLOW_PRIVATE=true for local development)`, {
        fieldErrors: [{ path: 'webhook.url', message: forbidden }],
      });
    }
  };

  return defineRoute({
    method: 'post',
    path: '/v1/jobs',
    operationId: 'submitJob',
    tag: 'jobs',
    summary: 'Submit a job',
    description: 'Validates the body, then adds the job to the ingress queue. The job id is made by the server.',
    request: { headers: jobSubmitHeadersSchema, body: jobRequestBodySchema },
    responses: {
      202: {
        description: 'Accepted (also the answer to a repeated Idempotency-Key with the same body)',
        headers: { Location: { description: '`/v1/jobs/<id>`', schema: { type: 'string' } } },
        content: { 'application/json': { schema: jobAcceptedSchema } },
      },
    },
    errors: JOB_REJECTION_REASONS,
    onProblem: (error) => rejections.countProblem(error),
    handle: async ({ body: request, headers }, _req, res) => {
      admit(request);
      const idempotencyKey = headers['Idempotency-Key'];
      const scope = typeof res.locals.apiKey === 'string' ? res.locals.apiKey : 'global';
      const accepted = await jobs.submit(request, idempotencyKey === undefined ? undefined : { key: idempotencyKey, scope });
      metrics.jobsSubmitted.inc({ model: request.model, priority: request.priority });
      res.status(202).location(`/v1/jobs/${accepted.id}`).json(accepted);
    },
  });
}
