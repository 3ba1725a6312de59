import express, { type Request, type RequestHandler, type Router } from 'express';
import { z } from 'zod';
import {
  SchedError,
  describeFieldErrors,
  fieldErrorsOf,
  DEADLINE_RECHECK_MS,
  isTerminal,
  mayMissDeadline,
  JOB_STATUSES,
  MODEL_NAME_PATTERN,
  jobRequestSchema,
  type Config,
  type Catalog,
  type JobView,
} from '@sched/core';
import type { ApiMetrics } from '@sched/telemetry';
import { jobEventsHandler } from './job-events.js';
import type { JobGateway } from './job-gateway.js';
import { methodNotAllowed } from './problem.js';
import type { StatusHub } from './status-hub.js';
import { forbiddenWebhookUrl } from './webhook-url.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const MAX_WAIT_S = 30;

export interface JobRoutesDeps {
  config: Config;
  fleet: Catalog;
  store: JobGateway;
  hub: StatusHub;
  metrics: ApiMetrics;
}

export function jobRoutes(deps: JobRoutesDeps): Router {
  const { config, fleet, store, hub, metrics } = deps;
  const router = express.Router();
  const jsonBody = express.json({ limit: config.MAX_BODY_BYTES, type: ['application/json', 'application/*+json'] });

  const requireJson: RequestHandler = (req, _res, next) => {
    if (!req.is(['application/json', 'application/*+json'])) {
      next(new SchedError('unsupported_media_type', `Content-Type must be application/json, got ${req.get('content-type') ?? 'none'}`));
      return;
    }
    next();
  };

  const jobEvents = jobEventsHandler(store, hub);
  const rejectInto = (reason: string): void => metrics.jobsRejected.inc({ reason });

  const submit: RequestHandler = async (req, res) => {
    const parsed = jobRequestSchema.safeParse(req.body);
    if (!parsed.success) {
      const fieldErrors = fieldErrorsOf(parsed.error);
      rejectInto('validation_failed');
      throw new SchedError('validation_failed', describeFieldErrors(fieldErrors), { fieldErrors });
    }
    const request = parsed.data;
    if (fleet.models[request.model] === undefined) {
      rejectInto('unknown_model');
      throw new SchedError('unknown_model', `model "${request.model}" is not in the catalog (GET /v1/models)`, {
        fieldErrors: [{ path: 'model', message: 'unknown model' }],
      });
    }
    if (request.webhook !== undefined) {
      if (config.WEBHOOK_SECRET === undefined) {
        rejectInto('webhooks_disabled');
        throw new SchedError('webhooks_disabled', 'this deployment has no WEBHOOK_SECRET, so it sends no webhooks; poll, long-poll or use SSE', {
          fieldErrors: [{ path: 'webhook', message: 'webhooks are not enabled here' }],
        });
      }
      const forbidden = config.WEBHOOK_ALLOW_PRIVATE ? null : forbiddenWebhookUrl(request.webhook.url);
      if (forbidden !== null) {
        rejectInto('webhook_url_forbidden');
        throw new SchedError('webhook_url_forbidden', `webhook.url is not allowed: ${forbidden} (set WEBHOOK_ALLOW_PRIVATE=true for local development)`, {
          fieldErrors: [{ path: 'webhook.url', message: forbidden }],
        });
      }
    }
    const idempotencyKey = req.get('idempotency-key');
    if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
      throw new SchedError('validation_failed', 'Idempotency-Key must be 1-255 visible ASCII characters', {
        fieldErrors: [{ path: 'Idempotency-Key', message: 'expected 1-255 visible ASCII characters' }],
      });
    }
    const scope = typeof res.locals.apiKey === 'string' ? res.locals.apiKey : 'global';
    const accepted = await store.submit(request, idempotencyKey === undefined ? undefined : { key: idempotencyKey, scope });
    metrics.jobsSubmitted.inc({ model: request.model, priority: request.priority });
    res.status(202).location(`/v1/jobs/${accepted.id}`).json(accepted);
  };

  const read: RequestHandler = async (req, res) => {
    const id = String(req.params.id);
    const waitS = parseWait(req);
    if (!UUID.test(id)) throw new SchedError('job_not_found', `no job ${id}`);
    const view = waitS === 0 ? await store.read(id) : await longPoll(id, waitS, res);
    if (view === null) throw new SchedError('job_not_found', `no job ${id}`);
    res.json(view);
  };

  /** Watch before reading, so a change between the read and the wait is never missed. */
  const longPoll = async (id: string, waitS: number, res: express.Response): Promise<JobView | null> => {
    const watch = hub.watch(id);
    const closed = new AbortController();
    res.on('close', () => closed.abort());
    try {
      let view = await store.read(id);
      const deadline = Date.now() + waitS * 1000;
      while (view !== null && !isTerminal(view.status)) {
        // A deadline expires without a message (it is derived when read): re-read often enough to see it.
        const slice = mayMissDeadline(view) ? DEADLINE_RECHECK_MS : Infinity;
        const message = await watch.next(Math.min(deadline - Date.now(), slice), closed.signal);
        if (message === undefined) {
          if (Date.now() >= deadline || closed.signal.aborted) break;
          view = (await store.read(id)) ?? view;
          continue;
        }
        if (message !== null && !isTerminal(message.status)) continue;
        view = (await store.read(id, message?.worker)) ?? view;
      }
      return view;
    } finally {
      watch.close();
    }
  };

  const list: RequestHandler = async (req, res) => {
    const query = listQuerySchema.safeParse(req.query);
    if (!query.success) {
      const fieldErrors = fieldErrorsOf(query.error);
      throw new SchedError('invalid_query', describeFieldErrors(fieldErrors), { fieldErrors });
    }
    const { status, model, limit, cursor } = query.data;
    const page = await store.list({ status, model, limit, cursor });
    res.json({ jobs: page.jobs, ...(page.next === undefined ? {} : { nextCursor: encodeCursor(page.next) }) });
  };

  router.route('/v1/jobs').post(requireJson, jsonBody, submit).get(list).all(methodNotAllowed(['GET', 'HEAD', 'POST']));
  const cancel: RequestHandler = async (req, res) => {
    const id = String(req.params.id);
    if (!UUID.test(id)) throw new SchedError('job_not_found', `no job ${id}`);
    const view = await store.cancel(id, (v) => hub.publish({ id, status: 'cancelled', at: Date.now(), attempt: v.attempts, ...(v.worker ? { worker: v.worker.id } : {}) }));
    if (view === null) throw new SchedError('job_not_found', `no job ${id}`);
    res.json(view);
  };

  router.route('/v1/jobs/:id').get(read).delete(cancel).all(methodNotAllowed(['GET', 'HEAD', 'DELETE']));
  router
    .route('/v1/jobs/:id/events')
    .get((req, res, next) => {
      if (!UUID.test(String(req.params.id))) throw new SchedError('job_not_found', `no job ${String(req.params.id)}`);
      return jobEvents(req, res, next);
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  return router;
}

const encodeCursor = (c: { score: number; id: string }): string => Buffer.from(`${c.score}:${c.id}`).toString('base64url');

const listQuerySchema = z.strictObject({
  status: z.enum(JOB_STATUSES, { error: `expected one of ${JOB_STATUSES.join(', ')}` }).optional(),
  model: z.string().regex(MODEL_NAME_PATTERN, { error: 'expected a model name' }).optional(),
  limit: z.coerce.number({ error: 'expected 1-100' }).int({ error: 'expected 1-100' }).min(1, { error: 'expected 1-100' }).max(100, { error: 'expected 1-100' }).default(20),
  cursor: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined) return undefined;
      const match = /^(\d+):([0-9a-f-]{36})$/.exec(Buffer.from(text, 'base64url').toString('utf8'));
      if (match === null) {
        ctx.addIssue({ code: 'custom', message: 'expected a nextCursor from a previous page' });
        return z.NEVER;
      }
      return { score: Number(match[1]), id: match[2] ?? '' };
    }),
});

function parseWait(req: Request): number {
  const raw = req.query.wait;
  if (raw === undefined) return 0;
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  if (!Number.isFinite(value) || value < 0 || value > MAX_WAIT_S) {
    throw new SchedError('invalid_query', `wait must be a number of seconds between 0 and ${MAX_WAIT_S}`, {
      fieldErrors: [{ path: 'wait', message: `expected 0-${MAX_WAIT_S}` }],
    });
  }
  return value;
}
