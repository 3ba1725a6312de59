import type { Request } from 'express';
import {
  MAX_LONG_POLL_S,
  type SchedError,
  encodeJobListCursor,
  jobEventsHeadersSchema,
  jobIdParamsSchema,
  jobListQuerySchema,
  jobListSchema,
  jobNotFound,
  jobReadQuerySchema,
  jobViewSchema,
} from '@sched/core';
import { defineRoute, jsonResponse, textResponse, type ApiRoute } from './api-route.js';
import type { JobCanceller } from './job-canceller.js';
import { streamJobEvents } from './job-events.js';
import type { JobGateway } from './job-gateway.js';
import { closedSignal } from './closed-signal.js';
import { longPoll } from './long-poll.js';
import type { StatusHub } from './status-hub.js';

export interface JobRoutesOptions {
  jobs: Pick<JobGateway, 'read' | 'readMany' | 'list' | 'expiresAt'>;
  hub: Pick<StatusHub, 'watch' | 'watchMany' | 'acceptedState'>;
  canceller: Pick<JobCanceller, 'cancel'>;
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
  const { jobs, hub, canceller } = options;
  return [
    defineRoute({
      method: 'get',
      path: '/v1/jobs',
      operationId: 'listJobs',
      tag: 'jobs',
      summary: 'List jobs, newest first',
      request: { query: jobListQuerySchema },
      responses: { 200: jsonResponse('One page of jobs', jobListSchema) },
      errors: ['invalid_query', 'unauthorized', 'redis_unavailable'],
      handle: async ({ query }, _req, res) => {
        const page = await jobs.list(query);
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
      errors: ['invalid_query', 'unauthorized', 'job_not_found', 'redis_unavailable'],
      notFound,
      handle: async ({ params: { id }, query: { wait } }, _req, res) => {
        const view = wait === undefined || wait === 0 ? await jobs.read(id) : await longPoll(jobs, hub, id, wait, closedSignal(res));
        if (view === null) throw jobNotFound(id);
        res.json(view);
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/jobs/:id',
      operationId: 'cancelJob',
      tag: 'jobs',
      summary: 'Cancel a job, stopping it if it is running',
      description:
        'A waiting job is removed; a running one is stopped on its worker (dropped from its batch) and ends `cancelled`, never retried. A job already cancelled answers 200 again; one that finished first answers 409.',
      request: { params: jobIdParamsSchema },
      responses: { 200: jsonResponse('The cancelled job (`status: cancelled`)', jobViewSchema) },
      errors: ['unauthorized', 'job_not_found', 'job_not_cancellable', 'redis_unavailable'],
      notFound,
      handle: async ({ params: { id } }, _req, res) => {
        const view = await canceller.cancel(id);
        if (view === null) throw jobNotFound(id);
        res.json(view);
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
      errors: ['unauthorized', 'job_not_found', 'redis_unavailable'],
      notFound,
      handle: ({ params: { id }, headers }, _req, res) => streamJobEvents(jobs, hub, id, headers['Last-Event-ID'], res),
    }),
  ];
}
