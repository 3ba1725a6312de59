import { fleetListSchema, modelCatalogSchema, modelLimits, type Catalog } from '@sched/core';
import type { WorkerQueueState } from '@sched/runtime';
import { defineRoute, jsonResponse, textResponse, type ApiRoute } from './api-route.js';
import { FleetFeed } from './fleet-feed.js';
import type { JobGateway } from './job-gateway.js';
import type { RecentCompletions } from './recent-completions.js';

export interface WorkerStatus {
  id: string;
  class: string | null;
  models: string[];
  slots: number | null;
  state: 'live' | 'draining' | 'down';
  depth: number;
  waiting: number;
  active: number;
  retrying: number;
  heartbeatAgeMs: number;
  serviceMs: Record<string, number>;
  busy: number;
  batchSize: number;
}

/** Refresh interval of the fleet stream (the page's update rate). */
const STREAM_INTERVAL_MS = 1000;

const SSE_FLEET = [
  'An event `fleet` every second; `data:` is a `FleetSnapshot` (every worker and the last minute\'s throughput, p99 and routing share).',
  'While Redis is unreachable the event is `unavailable` with `data: {}`. The stream never ends.',
].join(' ');

function workerStatus(s: WorkerQueueState, now: number): WorkerStatus {
  return {
    id: s.id,
    class: s.descriptor?.class ?? null,
    models: s.descriptor?.models ?? [],
    slots: s.descriptor?.slots ?? null,
    state: s.descriptor === null ? 'down' : s.descriptor.state,
    depth: s.waiting + s.active,
    waiting: s.waiting,
    active: s.active,
    retrying: s.delayed,
    heartbeatAgeMs: Math.max(0, now - (s.descriptor?.heartbeatAt ?? s.lastSeenAt)),
    serviceMs: s.descriptor?.serviceMs ?? {},
    busy: s.descriptor?.busy ?? 0,
    batchSize: s.descriptor?.batchSize ?? 1,
  };
}

export interface FleetRoutesOptions {
  catalog: Catalog;
  jobs: Pick<JobGateway, 'fleetState'>;
  recent: Pick<RecentCompletions, 'summary'>;
}

/** The fleet, its stream (the page at `/` follows it) and the model catalog. */
export function fleetRoutes(options: FleetRoutesOptions): ApiRoute[] {
  const { catalog, jobs, recent } = options;
  const workers = async (): Promise<WorkerStatus[]> => {
    const states = await jobs.fleetState();
    const now = Date.now();
    return states.map((state) => workerStatus(state, now));
  };
  // Every stream of this process follows one feed: one fleet read per second, none without a stream.
  const feed = new FleetFeed({
    read: async () => JSON.stringify({ workers: await workers(), recent: recent.summary(Date.now()) }),
    intervalMs: STREAM_INTERVAL_MS,
  });

  return [
    defineRoute({
      method: 'get',
      path: '/v1/fleet',
      operationId: 'getFleet',
      tag: 'fleet',
      summary: 'Every worker ever seen, with its queue load and liveness',
      responses: { 200: jsonResponse('The fleet', fleetListSchema) },
      errors: ['unauthorized', 'rate_limited', 'redis_unavailable'],
      handle: async (_input, _req, res) => {
        res.json({ workers: await workers() });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/fleet/stream',
      operationId: 'streamFleet',
      tag: 'fleet',
      summary: 'The fleet once a second (Server-Sent Events; feeds the page at /)',
      access: 'browser',
      responses: { 200: textResponse('text/event-stream', SSE_FLEET) },
      errors: ['unauthorized'],
      handle: (_input, req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        // HEAD: Node sends no headers before the end of a body-less answer, so a stream would hold it unanswered.
        if (req.method === 'HEAD') {
          res.end();
          return;
        }
        let sequence = 0;
        const write = (text: string): void => {
          if (!res.destroyed && !res.writableEnded) res.write(text);
        };
        const unfollow = feed.follow((event) =>
          write(event.kind === 'fleet' ? `id: ${++sequence}\nevent: fleet\ndata: ${event.data}\n\n` : `event: unavailable\ndata: {}\n\n`),
        );
        req.on('close', unfollow);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/models',
      operationId: 'listModels',
      tag: 'fleet',
      summary: 'The model catalog',
      responses: { 200: jsonResponse('Every model with its latency per class and the workers that serve it', modelCatalogSchema) },
      errors: ['unauthorized', 'rate_limited'],
      handle: (_input, _req, res) => {
        res.json({
          models: Object.entries(catalog.models).map(([name, classes]) => ({
            name,
            classes,
            workers: catalog.workers.filter((w) => w.models.includes(name)).map((w) => w.id),
            limits: modelLimits(catalog, name),
          })),
        });
      },
    }),
  ];
}
