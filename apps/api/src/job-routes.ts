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
import type { AdmissionControl } from './admission-control.js';
import { defineRoute, jsonResponse, textResponse, type ApiRoute } from './api-route.js';
import { callerOf } from './caller.js';
import type { JobCanceller } from './job-canceller.js';
import { streamJobEvents } from './job-events.js';
import type { JobGateway } from './job-gateway.js';
import { closedSignal } from './closed-signal.js';
import { longPoll } from './long-poll.js';
import type { StatusHub } from './status-hub.js';

export interface JobRoutesOptions {
  jobs: Pick<JobGateway, 'read' | 'readMany' | 'list'>;
  hub: Pick<StatusHub, 'watch' | 'watchMany' | 'acceptedState'>;
  canceller: Pick<JobCanceller, 'cancel'>;
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
  const { jobs, hub, canceller, admission } = options;
  const watcherOf = (res: Parameters<ApiRoute['handle']>[2]): (() => void) => admission.watchers.acquire(callerOf(res, admission.defaults).owner);
  return [
    defineRoute({
      method: 'get',
      path: '/v1/jobs',
      operationId: 'listJobs',
      tag: 'jobs',
      summary: 'List jobs, newest first',
      request: { query: jobListQuerySchema },
      responses: { 200: jsonResponse('One page of jobs', jobListSchema) },
      errors: ['invalid_query', 'unauthorized', 'rate_limited', 'redis_unavailable'],
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
      errors: ['invalid_query', 'unauthorized', 'rate_limited', 'too_many_watchers', 'job_not_found', 'redis_unavailable'],
      notFound,
      handle: async ({ params: { id }, query: { wait } }, _req, res) => {
        let view;
        if (wait === undefined || wait === 0) view = await jobs.read(id);
        else {
          const release = watcherOf(res);
          try {
            view = await longPoll(jobs, hub, id, wait, closedSignal(res));
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
      summary: 'Cancel a job that has not started',
      description: 'A job already cancelled answers 200 again; one running or finished answers 409.',
      request: { params: jobIdParamsSchema },
      responses: { 200: jsonResponse('The cancelled job (`status: cancelled`)', jobViewSchema) },
      errors: ['unauthorized', 'rate_limited', 'job_not_found', 'job_not_cancellable', 'redis_unavailable'],
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
      errors: ['unauthorized', 'rate_limited', 'too_many_watchers', 'job_not_found', 'redis_unavailable'],
      notFound,
      handle: async ({ params: { id }, headers }, _req, res) => {
        const release = watcherOf(res);
        try {
          await streamJobEvents(jobs, hub, id, headers['Last-Event-ID'], res);
        } finally {
          release();
        }
      },
    }),
  ];
}
