import express, { type Router } from 'express';
import { SchedError, readFleetState, type Fleet, type KeySpace } from '@sched/core';
import type { Redis } from 'ioredis';
import type { JobStore } from './job-store.js';
import { methodNotAllowed } from './problem.js';

export function fleetRoutes(fleet: Fleet, store: JobStore, redis: Redis, keys: KeySpace): Router {
  const router = express.Router();

  router
    .route('/v1/fleet')
    .get(async (_req, res) => {
      if (!store.connected) throw new SchedError('redis_unavailable', 'the job store (Redis) is unreachable; retry shortly', { retryAfterS: 1 });
      const now = Date.now();
      const states = await readFleetState(redis, keys);
      res.json({
        workers: states.map((s) => ({
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
        })),
      });
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
