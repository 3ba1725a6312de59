import type { Request } from 'express';
import {
  MAX_LONG_POLL_S,
  SchedError,
  encodeJobListCursor,
  jobEventsHeadersSchema,
  isTerminal,
  jobDeleteQuerySchema,
  jobIdParamsSchema,
  jobListQuerySchema,
  jobListSchema,
  jobNotFound,
  jobReadQuerySchema,
  jobViewSchema,
} from '@sched/core';
import type { AdmissionControl } from './admission-control.js';
import { defineRoute, jsonResponse, textResponse, type ApiRoute } from './api-route.js';
import { callerOf } from './caller.js';
import { tenantOf } from './api-keys.js';
import type { JobCanceller } from './job-canceller.js';
import { streamJobEvents } from './job-events.js';
import { LIST_READ_BUDGET, type JobGateway } from './job-gateway.js';
import { closedSignal } from './closed-signal.js';
import { longPoll } from './long-poll.js';
import type { StatusHub } from './status-hub.js';
import type { TenantJobs } from './tenant-jobs.js';

export interface JobRoutesOptions {
  jobs: Pick<JobGateway, 'visibleTo'>;
  hub: Pick<StatusHub, 'watch' | 'watchMany' | 'acceptedState'>;
  /** A canceller acting through one tenant's view of the jobs. */
  cancellerFor: (jobs: TenantJobs) => Pick<JobCanceller, 'cancel'>;
  /** Open long-polls and streams per key. */
  admission: Pick<AdmissionControl, 'defaults' | 'watchers'>;
}

const SSE_JOB = [
  'One event per status change, named after the new status (`queued`, `dispatched`, `running`, `completed`, `failed`, `cancelled`);',
  '`data:` is the job view (`JobView`, read when the event is sent), `id:` grows with every change, retries included.',
  'The first event is the status when the stream opens; the stream ends after the terminal event.',
  'A `: keep-alive` comment line comes every 15 s.',
].join(' ');

/** An id the server never makes (not a UUID) names no job. */
const notFound = (params: Request['params']): SchedError => jobNotFound(String(params.id));

/** Reading, listing, cancelling and following jobs (submitting: submit-route.ts). */
export function jobRoutes(options: JobRoutesOptions): ApiRoute[] {
  const { jobs, hub, cancellerFor, admission } = options;
  const watcherOf = (res: Parameters<ApiRoute['handle']>[2]): (() => void) => admission.watchers.acquire(callerOf(res, admission.defaults).owner);
  return [
    defineRoute({
      method: 'get',
      path: '/v1/jobs',
      operationId: 'listJobs',
      tag: 'jobs',
      summary: 'List jobs, newest first',
      description: [
        'The caller\'s own jobs (an admin key: every tenant\'s), from a per-owner index: a listing never reads another tenant\'s jobs.',
        `One request reads at most ${LIST_READ_BUDGET} jobs: with \`status\`, a page may hold fewer than \`limit\` jobs (even none) and still carry`,
        '`nextCursor`; follow it until it is absent to see every match.',
      ].join(' '),
      request: { query: jobListQuerySchema },
      responses: { 200: jsonResponse('One page of jobs', jobListSchema) },
      errors: ['invalid_query', 'unauthorized', 'rate_limited', 'redis_unavailable'],
      handle: async ({ query }, _req, res) => {
        const page = await jobs.visibleTo(tenantOf(res)).list(query);
        res.json({ jobs: page.jobs, ...(page.next === undefined ? {} : { nextCursor: encodeJobListCursor(page.next) }) });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/jobs/:id',
      operationId: 'getJob',
      tag: 'jobs',
      summary: 'Read a job',
      description: `With \`wait\`, answers as soon as the job is finished, or after \`wait\` seconds (at most ${MAX_LONG_POLL_S}) with its status then.`,
      request: { params: jobIdParamsSchema, query: jobReadQuerySchema },
      responses: { 200: jsonResponse('The job', jobViewSchema) },
      errors: ['invalid_query', 'unauthorized', 'rate_limited', 'too_many_watchers', 'job_not_found', 'redis_unavailable'],
      notFound,
      handle: async ({ params: { id }, query: { wait } }, _req, res) => {
        const visible = jobs.visibleTo(tenantOf(res));
        let view;
        if (wait === undefined || wait === 0) view = await visible.read(id);
        else {
          const release = watcherOf(res);
          try {
            view = await longPoll(visible, hub, id, wait, closedSignal(res));
          } finally {
            release();
          }
        }
        if (view === null) throw jobNotFound(id);
        res.json(view);
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/jobs/:id',
      operationId: 'cancelJob',
      tag: 'jobs',
      summary: 'Cancel a job, stopping it if it is running, or delete a job\'s data',
      description: [
        'A waiting job is removed; a running one is stopped on its worker (dropped from its batch) and ends `cancelled`, never retried.',
        'A job already cancelled answers 200 again; one that finished first answers 409.',
        "With `purge=true`: deletes the job's data now instead of at the end of its retention (its input and result, its listing entries, the record",
        'of its Idempotency-Key, which then makes a new job): a finished job at once, one not yet started after cancelling it; a running job answers 409 (cancel it first).',
        'A webhook delivery already under way still sends what it carries. Then the job is 404.',
      ].join(' '),
      request: { params: jobIdParamsSchema, query: jobDeleteQuerySchema },
      responses: { 200: jsonResponse('The cancelled job (`status: cancelled`)', jobViewSchema), 204: { description: 'Purged: the job and its data are gone' } },
      errors: ['invalid_query', 'unauthorized', 'rate_limited', 'job_not_found', 'job_not_cancellable', 'redis_unavailable'],
      notFound,
      handle: async ({ params: { id }, query: { purge } }, _req, res) => {
        const visible = jobs.visibleTo(tenantOf(res));
        if (!purge) {
          const view = await cancellerFor(visible).cancel(id);
          if (view === null) throw jobNotFound(id);
          res.json(view);
          return;
        }
        const view = await visible.read(id);
        if (view === null) throw jobNotFound(id);
        if (view.status === 'running') throw new SchedError('job_not_cancellable', `job ${id} is running; purge it once it has finished`);
        // A job not yet started is cancelled first (409 once it runs), so no worker picks it up mid-purge.
        if (!isTerminal(view.status) && (await cancellerFor(visible).cancel(id)) === null) throw jobNotFound(id);
        await visible.purge(view);
        res.status(204).end();
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/jobs/:id/events',
      operationId: 'streamJobEvents',
      tag: 'jobs',
      summary: "Stream a job's status changes (Server-Sent Events)",
      request: { params: jobIdParamsSchema, headers: jobEventsHeadersSchema },
      responses: { 200: textResponse('text/event-stream', SSE_JOB) },
      errors: ['unauthorized', 'rate_limited', 'too_many_watchers', 'job_not_found', 'redis_unavailable'],
      notFound,
      handle: async ({ params: { id }, headers }, _req, res) => {
        const release = watcherOf(res);
        try {
          await streamJobEvents(jobs.visibleTo(tenantOf(res)), hub, id, headers['Last-Event-ID'], res);
        } finally {
          release();
        }
      },
    }),
  ];
}
