import { once } from 'node:events';
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import { SchedError, keySpace, loadCatalog, type Config, type Catalog } from '@sched/core';
import { closeRedis, createLogger, createRedis, type Logger } from '@sched/runtime';
import { createApiMetrics, createRegistry, mergeExpositions } from '@sched/telemetry';
import type { Registry } from 'prom-client';
import { apiKeyAuth } from './api-keys.js';
import { BULL_BOARD_PATH, createBoard } from './bull-board.js';
import { docsRoutes } from './docs-page.js';
import { fleetRoutes } from './fleet-routes.js';
import { RecentCompletions } from './recent-completions.js';
import { jobRoutes } from './job-routes.js';
import { JobGateway } from './job-gateway.js';
import { buildOpenApiDocument } from './openapi.js';
import { methodNotAllowed, problemHandler, routeNotFound, sendProblem } from './problem.js';
import { StatusHub } from './status-hub.js';

export interface ApiOptions {
  /** @defaultValue the fleet file named by FLEET_FILE (the model catalog) */
  fleet?: Catalog;
  logger?: Logger;
}

export interface Api {
  readonly app: Express;
  readonly registry: Registry;
  readonly hub: StatusHub;
  /** Listen on API_HOST:API_PORT (0 = a free port); resolves with the bound port. */
  listen(): Promise<number>;
  close(): Promise<void>;
}

export async function createApi(config: Config, options: ApiOptions = {}): Promise<Api> {
  const fleet = options.fleet ?? loadCatalog(config.FLEET_FILE);
  const logger = options.logger ?? createLogger('api', config.LOG_LEVEL);
  const keys = keySpace(config.KEY_PREFIX);
  const registry = createRegistry('api');
  const metrics = createApiMetrics(registry, config.METRICS_ENABLED);
  for (const reason of ['validation_failed', 'unknown_model', 'invalid_json', 'payload_too_large', 'unsupported_media_type', 'redis_unavailable', 'unauthorized', 'webhook_url_forbidden', 'webhooks_disabled']) {
    metrics.jobsRejected.inc({ reason }, 0);
  }

  const redis = createRedis(config.REDIS_URL, 'producer', { commandTimeoutMs: config.REDIS_TIMEOUT_MS, connectionName: 'api' });
  const subscriber = createRedis(config.REDIS_URL, 'blocking', { connectionName: 'api-sub' });
  let redisDown = false;
  for (const conn of [redis, subscriber]) {
    conn.on('error', (error: Error) => {
      if (!redisDown) logger.warn({ err: error.message }, 'redis unreachable; answering 503 until it returns');
      redisDown = true;
    });
    conn.on('ready', () => {
      if (redisDown) logger.info('redis reachable again');
      redisDown = false;
    });
  }
  // Give Redis a moment at start-up; if it is down the API still starts and answers 503 until it returns.
  if (redis.status !== 'ready') await Promise.race([once(redis, 'ready'), sleep(2000)]);
  const classes = new Map(fleet.workers.map((w) => [w.id, w.class]));
  const store = new JobGateway(redis, keys, config, (id) => classes.get(id), fleet.models);
  const hub = new StatusHub(subscriber, keys.statusChannel, logger, redis);
  hub.start();

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
    });
    next();
  });

  // Before the key check: the API description is the same for every deployment and holds no data.
  app.use(docsRoutes(buildOpenApiDocument()));
  app.use(apiKeyAuth(config.API_KEYS, () => metrics.jobsRejected.inc({ reason: 'unauthorized' })));
  app.route('/healthz').get((_req, res) => void res.json({ status: 'ok' })).all(methodNotAllowed(['GET', 'HEAD']));
  app
    .route('/readyz')
    .get(async (req, res) => {
      try {
        await store.ping();
        res.json({ status: 'ready' });
      } catch (error) {
        const sched = error instanceof SchedError ? error : new SchedError('redis_unavailable', 'redis ping failed', { retryAfterS: 1 });
        sendProblem(res, sched, req.originalUrl);
      }
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  app
    .route('/metrics')
    .get(async (_req, res) => {
      // The ingress queue's counts from BullMQ's own exporter (the dispatcher exports the worker queues).
      const queueText = store.connected ? mergeExpositions([await store.ingressMetrics()]) : '';
      res.type(registry.contentType).send((await registry.metrics()) + queueText);
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  const board = createBoard(config, redis, keys, logger);
  const syncBoard = (): void => void board.sync().catch((error: unknown) => logger.debug({ err: String(error) }, 'bull board sync failed'));
  syncBoard();
  const boardTimer = setInterval(syncBoard, config.FLEET_REFRESH_MS);
  app.use(BULL_BOARD_PATH, async (req, _res, next) => {
    // Opening the board picks up workers that joined since the last tick; its assets and polling do not re-read.
    if (req.path === '/' || req.path === '') await board.sync().catch(() => undefined);
    next();
  }, board.router);
  app.use(jobRoutes({ config, fleet, store, hub, metrics }));
  const recent = new RecentCompletions(Date.now());
  hub.onMessage((message) => recent.record(message));
  app.use(fleetRoutes(fleet, store, redis, keys, recent));
  app.use(routeNotFound);
  app.use(problemHandler(logger));

  let server: Server | null = null;
  const listen = async (): Promise<number> => {
    const bound = app.listen(config.API_PORT, config.API_HOST);
    server = bound;
    await new Promise<void>((resolve, reject) => {
      bound.once('listening', resolve);
      bound.once('error', reject);
    });
    // Long-polls hold a request up to 30 s; keep idle keep-alive sockets a little longer than typical clients.
    bound.keepAliveTimeout = 65_000;
    bound.headersTimeout = 66_000;
    const port = (bound.address() as AddressInfo).port;
    logger.info({ port }, 'api listening');
    return port;
  };

  let closing: Promise<void> | null = null;
  const close = async (): Promise<void> => {
    if (server) {
      const s = server;
      s.closeIdleConnections();
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        // Long-polls would hold close open for up to 30 s; they are cut and their clients retry.
        setTimeout(() => s.closeAllConnections(), 1000).unref();
      });
    }
    clearInterval(boardTimer);
    await board.close();
    await store.close();
    await Promise.all([closeRedis(redis), closeRedis(subscriber)]);
  };

  return { app, registry, hub, listen, close: () => (closing ??= close()) };
}
