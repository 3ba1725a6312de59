import express, { type Router } from 'express';
import { SchedError, type Catalog, type KeySpace } from '@sched/core';
import { readFleetState } from '@sched/runtime';
import type { Redis } from 'ioredis';
import { FLEET_PAGE } from './fleet-page.js';
import type { JobGateway } from './job-gateway.js';
import type { RecentCompletions } from './recent-completions.js';
import { methodNotAllowed } from './problem.js';

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

export function fleetRoutes(fleet: Catalog, store: JobGateway, redis: Redis, keys: KeySpace, recent: RecentCompletions): Router {
  const router = express.Router();

  const workers = async (): Promise<WorkerStatus[]> => {
    if (!store.connected) throw new SchedError('redis_unavailable', 'the job store (Redis) is unreachable; retry shortly', { retryAfterS: 1 });
    const now = Date.now();
    const states = await readFleetState(redis, keys);
    return states.map((s) => ({
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
        }));
  };

  router
    .route('/v1/fleet')
    .get(async (_req, res) => {
      res.json({ workers: await workers() });
    })
    .all(methodNotAllowed(['GET', 'HEAD']));

  // One `fleet` event a second: every worker plus the last minute's throughput, p99 and routing share.
  router
    .route('/v1/fleet/stream')
    .get((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      let sequence = 0;
      const send = (): void => {
        const write = (text: string): void => {
          if (!res.destroyed && !res.writableEnded) res.write(text);
        };
        workers().then(
          (list) => write(`id: ${++sequence}\nevent: fleet\ndata: ${JSON.stringify({ workers: list, recent: recent.summary(Date.now()) })}\n\n`),
          () => write(`event: unavailable\ndata: {}\n\n`),
        );
      };
      send();
      const timer = setInterval(send, STREAM_INTERVAL_MS);
      req.on('close', () => clearInterval(timer));
    })
    .all(methodNotAllowed(['GET', 'HEAD']));

  router
    .route('/')
    .get((_req, res) => {
      res.type('html').send(FLEET_PAGE);
    })
    .all(methodNotAllowed(['GET', 'HEAD']));

  router
    .route('/v1/models')
    .get((_req, res) => {
      res.json({
        models: Object.entries(fleet.models).map(([name, classes]) => ({
          name,
          classes,
          workers: fleet.workers.filter((w) => w.models.includes(name)).map((w) => w.id),
        })),
      });
    })
    .all(methodNotAllowed(['GET', 'HEAD']));

  return router;
}
