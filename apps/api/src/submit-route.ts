import type { Response } from 'express';
import {
  MAX_LONG_POLL_S,
  SchedError,
  isTerminal,
  jobAcceptedSchema,
  jobRequestBodySchema,
  jobSubmitHeadersSchema,
  jobViewSchema,
  type Catalog,
  type Config,
  type JobRequest,
  type JobView,
} from '@sched/core';
import type { Logger } from '@sched/runtime';
import type { ApiMetrics } from '@sched/telemetry';
import { defineRoute, type ApiRoute } from './api-route.js';
import type { JobGateway } from './job-gateway.js';
import { JOB_REJECTION_REASONS, type JobRejections } from './job-rejections.js';
import { longPoll } from './long-poll.js';
import type { StatusHub } from './status-hub.js';
import { preferenceApplied, submitPreference, type SubmitOutcome } from './submit-preference.js';
import { forbiddenWebhookUrl } from './webhook-url.js';

export interface SubmitRouteOptions {
  config: Pick<Config, 'WEBHOOK_SECRET' | 'WEBHOOK_ALLOW_PRIVATE'>;
  catalog: Pick<Catalog, 'models'>;
  jobs: Pick<JobGateway, 'submit' | 'read'>;
  /** For `Prefer: wait`: the status messages of the jobs it waits on. */
  hub: Pick<StatusHub, 'watch'>;
  metrics: Pick<ApiMetrics, 'jobsSubmitted'>;
  rejections: Pick<JobRejections, 'countProblem'>;
  logger: Pick<Logger, 'warn'>;
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
  const { config, catalog, jobs, hub, metrics, rejections, logger } = options;

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

  /**
   * `Prefer: wait`: the job once it has ended, or null when it has not within `waitS` (or the
   * client left). The same long-poll as `GET /v1/jobs/:id?wait=`, which watches before it reads,
   * so a job that ended before the watch began is read as ended, not waited for.
   */
  const ended = async (id: string, waitS: number, res: Response): Promise<JobView | null> => {
    const closed = new AbortController();
    res.on('close', () => closed.abort());
    const view = await longPoll(jobs, hub, id, waitS, closed.signal);
    return view !== null && isTerminal(view.status) ? view : null;
  };

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
      const preference = submitPreference(headers.Prefer);
      const idempotencyKey = headers['Idempotency-Key'];
      const scope = typeof res.locals.apiKey === 'string' ? res.locals.apiKey : 'global';
      // A replayed Idempotency-Key answers the first job's id: a wait then waits on that job.
      const accepted = await jobs.submit(request, idempotencyKey === undefined ? undefined : { key: idempotencyKey, scope });
      metrics.jobsSubmitted.inc({ model: request.model, priority: request.priority });
      const location = `/v1/jobs/${accepted.id}`;
      let outcome: SubmitOutcome = 'accepted';
      let view: JobView | null = null;
      if (preference.waitS !== undefined) {
        try {
          view = await ended(accepted.id, preference.waitS, res);
          if (view !== null) outcome = 'finished';
        } catch (error) {
          // The job is in: a 503 now would read as a refusal, and its retry would add a second job.
          logger.warn({ jobId: accepted.id, err: String(error) }, 'Prefer: wait broke off; answering 202');
          outcome = 'interrupted';
        }
      }
      const applied = preferenceApplied(preference, outcome);
      if (applied !== undefined) res.setHeader('Preference-Applied', applied);
      if (view !== null) res.status(200).set('Content-Location', location).json(view);
      else res.status(202).location(location).json(accepted);
    },
  });
}
