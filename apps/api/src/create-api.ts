import { once } from 'node:events';
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import { ANONYMOUS_TENANT, expectedWaitIntervalMs, keySpace, loadCatalog, loadTenants, type Config, type Catalog } from '@sched/core';
import { RedisErrorLog, closeRedis, createLogger, createRedis, type Logger } from '@sched/runtime';
import { createApiMetrics, createRegistry } from '@sched/telemetry';
import type { Registry } from 'prom-client';
import type { AdmissionControl } from './admission-control.js';
import { apiKeyCheck } from './api-keys.js';
import { batchRoutes } from './batch-routes.js';
import { BULL_BOARD_PATH, createBoard } from './bull-board.js';
import { corsPolicy } from './cors.js';
import { docsRoutes } from './docs-page.js';
import { ExpectedWaits } from './expected-waits.js';
import { InFlightLimit } from './in-flight-limit.js';
import { FLEET_PAGE } from './fleet-page.js';
import { fleetRoutes } from './fleet-routes.js';
import { pageRoute } from './html-page.js';
import { createHttpServer, requestHeadCheck } from './http-limits.js';
import { JobCanceller } from './job-canceller.js';
import { INDEX_GRACE_S, JobGateway } from './job-gateway.js';
import { JobRejections } from './job-rejections.js';
import { jobRetryRoute } from './job-retry-route.js';
import { jobRoutes } from './job-routes.js';
import { operationRoutes } from './operation-routes.js';
import { problemHandler, routeNotFound } from './problem.js';
import { requestRateLimit } from './rate-limit.js';
import { RecentCompletions } from './recent-completions.js';
import { routeTable } from './route-table.js';
import { StatusHub } from './status-hub.js';
import { submitRoute } from './submit-route.js';
import { WatcherLimit } from './watcher-limit.js';
import { usageRoute } from './usage-route.js';

/** MAX_WATCHERS_PER_KEY when unset and the server has API keys. */
const DEFAULT_WATCHERS_PER_KEY = 1000;

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
  const catalog = options.fleet ?? loadCatalog(config.FLEET_FILE);
  // Before any connection: a bad API_KEYS_FILE stops the start with one line.
  const tenants = loadTenants(config);
  const logger = options.logger ?? createLogger('api', config.LOG_LEVEL);
  const keys = keySpace(config.KEY_PREFIX);
  const registry = createRegistry('api');
  const metrics = createApiMetrics(registry, config.METRICS_ENABLED);
  const rejections = new JobRejections(metrics.jobsRejected);
  // One series per configured key (or the anonymous tenant), at 0 before its first job.
  for (const tenant of tenants.enabled ? tenants.tenants : [ANONYMOUS_TENANT]) metrics.tenantJobsSubmitted.inc({ tenant: tenant.name }, 0);

  const producer = { commandTimeoutMs: config.REDIS_TIMEOUT_MS, bullmqEvents: config.BULLMQ_EVENTS };
  // Plain commands (reads, index, idempotency, publish) and BullMQ's queues on separate connections:
  // ioredis copies every script defined on a connection into each pipeline or MULTI made on it, and
  // BullMQ defines some 60 — on a shared connection each job read paid for that copy.
  const redis = createRedis(config.REDIS_URL, 'producer', { ...producer, connectionName: 'api' });
  const queueConnection = createRedis(config.REDIS_URL, 'producer', { ...producer, connectionName: 'api-queues' });
  const subscriber = createRedis(config.REDIS_URL, 'blocking', { connectionName: 'api-sub' });
  // One owner of Redis errors: while it has seen Redis down, every store call answers 503 at once.
  const redisLog = new RedisErrorLog(logger);
  redisLog.watchConnection(redis, 'api');
  redisLog.watchConnection(queueConnection, 'api-queues');
  redisLog.watchConnection(subscriber, 'api-sub');
  // Give Redis a moment at start-up; if it is down the API still starts and answers 503 until it returns.
  const ready = [redis, queueConnection].filter((connection) => connection.status !== 'ready').map((connection) => once(connection, 'ready'));
  if (ready.length > 0) await Promise.race([Promise.all(ready), sleep(2000)]);
  const jobs = new JobGateway({ redis, queueConnection, config, catalog, redisLog });
  const hub = new StatusHub(subscriber, keys.statusChannel, logger, redis);
  hub.start();
  const recent = new RecentCompletions(Date.now());
  hub.onMessage((message) => recent.record(message));
  const board = createBoard({ config, keysEnabled: tenants.enabled, redis: queueConnection, redisLog, logger });
  const syncBoard = (): void => void board.sync().catch((error: unknown) => logger.debug({ err: String(error) }, 'bull board sync failed'));
  syncBoard();
  const boardTimer = setInterval(syncBoard, config.FLEET_REFRESH_MS);

  const expectedWaits = new ExpectedWaits({ redis, keys, maxWaitMs: config.MAX_EXPECTED_WAIT_MS, refreshMs: expectedWaitIntervalMs(config.FLEET_REFRESH_MS), logger });
  expectedWaits.start();
  const inFlight = new InFlightLimit({
    redis,
    keys,
    readMany: async (ids) => (await jobs.readManyOwned(ids)).map((job) => job?.view ?? null),
    ttlMs: (config.RESULT_TTL_S + INDEX_GRACE_S) * 1000,
    logger,
  });
  hub.onMessage((message) => inFlight.onStatus(message));
  const admission: AdmissionControl = { defaults: config, inFlight, watchers: new WatcherLimit(config.MAX_WATCHERS_PER_KEY ?? (tenants.enabled ? DEFAULT_WATCHERS_PER_KEY : 0)), load: expectedWaits };

  const routes = [
    submitRoute({ config, catalog, jobs, hub, metrics, rejections, logger, admission }),
    // Before the job routes: their `/v1/jobs/:id` would answer these paths' POST with a 405.
    ...batchRoutes({ config, catalog, jobs, hub, metrics, rejections, logger, admission }),
    ...jobRoutes({ jobs, hub, cancellerFor: (visible) => new JobCanceller({ jobs: visible, hub }), admission }),
    jobRetryRoute({ config, catalog, jobs, metrics, admission }),
    usageRoute({ tenants, catalog, jobs }),
    ...fleetRoutes({ catalog, jobs, recent }),
    ...operationRoutes({ jobs, registry }),
    pageRoute({ path: '/', operationId: 'getFleetPage', summary: 'The live fleet page', description: 'HTML page following /v1/fleet/stream', access: 'browser', html: FLEET_PAGE }),
    board.entry,
  ];
  const keyCheck = apiKeyCheck(tenants, () => rejections.count('unauthorized'));

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
  app.use(requestHeadCheck(config));
  const cors = corsPolicy(config);
  if (cors !== null) app.use(cors);
  const limiter = requestRateLimit({ redis, keys, defaults: config });
  app.use(routeTable([...routes, ...docsRoutes(routes)], { keyCheck, maxBodyBytes: config.MAX_BODY_BYTES, limiter }));
  app.use(BULL_BOARD_PATH, keyCheck('browser'), board.router);
  // Anything else: an unknown path, answered 404 to a caller with a key (401 without).
  app.use(keyCheck('key'), routeNotFound);
  app.use(problemHandler(logger));

  let server: Server | null = null;
  const listen = async (): Promise<number> => {
    const bound = createHttpServer(app, config, logger);
    server = bound;
    await new Promise<void>((resolve, reject) => {
      bound.once('listening', resolve);
      bound.once('error', reject);
      bound.listen(config.API_PORT, config.API_HOST);
    });
    const port = (bound.address() as AddressInfo).port;
    logger.info({ host: config.API_HOST, port }, 'api listening');
    return port;
  };

  let closing: Promise<void> | null = null;
  const close = async (): Promise<void> => {
    if (server) {
      const s = server;
      s.closeIdleConnections();
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        // Long-polls would hold close open for up to MAX_LONG_POLL_S; they are cut and their clients retry.
        setTimeout(() => s.closeAllConnections(), 1000).unref();
      });
    }
    clearInterval(boardTimer);
    expectedWaits.stop();
    hub.close();
    await board.close();
    await jobs.close();
    await Promise.all([closeRedis(redis), closeRedis(queueConnection), closeRedis(subscriber)]);
  };

  return { app, registry, hub, listen, close: () => (closing ??= close()) };
}
