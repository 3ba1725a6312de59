import { randomInt } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { INGRESS_QUEUE, expectedWaitIntervalMs, keySpace, loadCatalog, seededRng, type Catalog, type Config, type JobPayload, type Rng } from '@sched/core';
import {
  JobReader,
  RedisErrorLog,
  StrandedJobs,
  WebhookOutbox,
  closeRedis,
  consumerOptions,
  createLogger,
  createRedis,
  producerQueueOptions,
  subscribeWhenReady,
  type Logger,
} from '@sched/runtime';
import { createPolicy, isLateBinding, LateBinder, withDeadlineGuard } from '@sched/policies';
import { LatencyModel } from '@sched/exec';
import { createDispatcherMetrics, createRegistry, mergeExpositions, startMetricsServer } from '@sched/telemetry';
import type { Registry } from 'prom-client';
import { DeadWorkerRecovery } from './dead-worker-recovery.js';
import { DecisionTimer } from './decision-timer.js';
import { DispatchClaims } from './dispatch-claims.js';
import { ExpectedWaitPublisher } from './expected-wait-publisher.js';
import { RedisDispatchStore } from './dispatch-store.js';
import { FairShare } from './fair-share.js';
import { FleetGauges } from './fleet-gauges.js';
import { FleetRefresh } from './fleet-refresh.js';
import { FleetView } from './fleet-view.js';
import { IngressWaiting } from './ingress-waiting.js';
import { JobHolder } from './job-holder.js';
import { LatencySampler } from './latency-sampler.js';
import { ParkedJobs } from './parked-jobs.js';
import { RouteJob } from './route-job.js';
import { StatusListener } from './status-listener.js';
import { statusPublisher } from './status-publisher.js';
import { WebhookSender } from './webhook-sender.js';
import { WorkerQueues } from './worker-queues.js';

export interface DispatcherOptions {
  /** The model catalog, for expected service times. @defaultValue the fleet file named by FLEET_FILE */
  fleet?: Catalog;
  logger?: Logger;
  /** @defaultValue a random seed */
  rng?: Rng;
  /** Serve /metrics on DISPATCHER_METRICS_PORT. @defaultValue true */
  serveMetrics?: boolean;
}

export interface Dispatcher {
  readonly fleet: FleetView;
  readonly registry: Registry;
  readonly metricsPort: number | null;
  /** Recent routing-decision durations in microseconds. */
  readonly decisionMicros: LatencySampler;
  /** Re-read the fleet from Redis now. */
  refreshFleet(): Promise<void>;
  close(): Promise<void>;
}

/** Held jobs kept below the ingress consumer's concurrency, so jobs of other models are still taken. */
const HELD_RESERVE = 8;

/**
 * Builds the dispatcher's pieces, starts them, and closes them: the ingress consumer (each job
 * routed by `RouteJob`, held by `JobHolder` under late binding), the fleet view and its refresh,
 * the pub/sub listener, dead-worker recovery, the webhook sender and the metrics endpoint.
 */
export async function createDispatcher(config: Config, options: DispatcherOptions = {}): Promise<Dispatcher> {
  const logger = options.logger ?? createLogger('dispatcher', config.LOG_LEVEL);
  const keys = keySpace(config.KEY_PREFIX);
  const policyName = config.SCHED_POLICY;
  const catalog = options.fleet ?? loadCatalog(config.FLEET_FILE);
  const latency = new LatencyModel(catalog.models);
  const rng = options.rng ?? seededRng(randomInt(2 ** 31));
  const registry = createRegistry('dispatcher');
  const metrics = createDispatcherMetrics(registry, config.METRICS_ENABLED);
  const decisions = new DecisionTimer(metrics.decisionDuration, new LatencySampler());
  // Fair sharing's copy of the worker queues' bands tells `sed` how long a tenant's job would wait (made below, on the fleet's index).
  const fairWait: { waitMs?: FairShare['waitMs'] } = {};
  const fleet = new FleetView(
    {
      expectedServiceMs: (model, cls, size) => (latency.serves(model, cls) ? latency.expectedMs(model, cls, size) : 1),
      fairWaitMs: (job, worker) => fairWait.waitMs?.(job, worker),
    },
    (cls, models) => {
      const known = models.filter((m) => latency.serves(m, cls));
      return known.length === 0 ? 1 : known.reduce((sum, m) => sum + latency.expectedMs(m, cls), 0) / known.length;
    },
  );
  const perJob = createPolicy(policyName, { sloMs: config.LATENCY_SLO_MS.defaultMs, sloMsByModel: config.LATENCY_SLO_MS.byModel });

  const redisErrors = new RedisErrorLog(logger);
  const redis = createRedis(config.REDIS_URL, 'service', { connectionName: 'dispatcher', bullmqEvents: config.BULLMQ_EVENTS });
  const subscriber = createRedis(config.REDIS_URL, 'blocking', { connectionName: 'dispatcher-sub', bullmqEvents: config.BULLMQ_EVENTS });
  // BullMQ does not close a connection it was given; close() does.
  const consumerConnection = createRedis(config.REDIS_URL, 'blocking', { connectionName: 'dispatcher-ingress', bullmqEvents: config.BULLMQ_EVENTS });
  for (const [connection, name] of [[redis, 'dispatcher'], [subscriber, 'dispatcher-sub'], [consumerConnection, 'dispatcher-ingress']] as const) {
    redisErrors.watchConnection(connection, name);
  }
  const ingress = new Queue<JobPayload>(INGRESS_QUEUE, producerQueueOptions(redis, config.KEY_PREFIX));
  redisErrors.watch(ingress, 'queue ingress');
  const workerQueues = new WorkerQueues({ connection: redis, prefix: config.KEY_PREFIX, redisErrors });
  const publish = statusPublisher(redis, keys.statusChannel, logger);
  const outbox = new WebhookOutbox(redis, config, redisErrors);
  const classes = new Map(catalog.workers.map((w) => [w.id, w.class]));
  const reader = new JobReader(redis, keys, (id) => classes.get(id) ?? fleet.index.find(id)?.class, catalog.models);
  const sender = config.WEBHOOK_SECRET === undefined ? null : new WebhookSender({ config, keys, redis, metrics, logger, reader, redisErrors }, config.WEBHOOK_SECRET);
  if (sender === null) logger.info('WEBHOOK_SECRET is not set: webhooks are not sent by this dispatcher');

  const claims = new DispatchClaims({ fleet, metrics, policy: policyName });
  const fair = new FairShare({ redis, keys, snapshot: fleet.index, enabled: config.FAIR_SHARE });
  fairWait.waitMs = (job, worker) => fair.waitMs(job, worker);
  // `sed-late` holds jobs here (active in ingress, so a crash loses none) until a worker has room.
  const holder = isLateBinding(policyName)
    ? new JobHolder({
        binder: new LateBinder({ lookahead: config.DISPATCH_CONCURRENCY, prefetch: config.SED_LATE_PREFETCH }),
        policy: perJob,
        snapshot: fleet.index,
        models: catalog.models,
        rng,
        capacity: Math.max(1, config.DISPATCH_CONCURRENCY - HELD_RESERVE),
        claim: (id, payload, workerId) => claims.claim(id, payload, workerId),
        decisions,
      })
    : null;
  const parked = new ParkedJobs(2 * config.PARK_RECHECK_MS + 1000);
  const router = new RouteJob({
    config,
    models: catalog.models,
    policy: withDeadlineGuard(perJob, Date.now),
    snapshot: fleet.index,
    rng,
    holder,
    fair,
    claims,
    decisions,
    parked,
    store: new RedisDispatchStore({ config, keys, redis, workerQueues, reader, outbox, publish, fair }),
    publish,
    logger,
  });

  const recovery = new DeadWorkerRecovery({ config, stranded: new StrandedJobs(redis, keys), ingress, metrics, publish, logger });
  const gauges = new FleetGauges({ metrics, policy: policyName, models: catalog.models });
  const ingressWaiting = new IngressWaiting({ redis, keys, models: Object.keys(catalog.models), logger });
  const waits = new ExpectedWaitPublisher({
    redis,
    keys,
    models: Object.keys(catalog.models),
    snapshot: fleet.index,
    heldByModel: () => holder?.heldByModel() ?? new Map(),
    // Waiting in ingress, and taken by a dispatcher but not yet in a worker queue (held jobs are counted by model).
    ingressWaiting: async () => Math.max(0, (await ingress.getJobCountByTypes('wait', 'prioritized', 'active')) - (holder?.count ?? 0)),
    ttlMs: Math.max(5000, 5 * config.FLEET_REFRESH_MS),
    logger,
  });
  const refresh = new FleetRefresh({
    redis,
    keys,
    fleet,
    onRead: (states, now) => {
      recovery.check(states, now);
      gauges.update(fleet.workers(), parked.models(now), now, ingressWaiting.latest());
      // Read for the next update: the gauge is at most one refresh behind, and a refresh never waits on it.
      if (config.METRICS_ENABLED) void ingressWaiting.refresh();
      holder?.round();
    },
    onModelServed: () => ingress.promoteJobs(),
    intervalMs: config.FLEET_REFRESH_MS,
    logger,
  });
  await refresh.refresh().catch((error: unknown) => logger.warn({ err: String(error) }, 'initial fleet read failed'));

  const listener = new StatusListener({ keys, fleet, holder, refreshFleet: () => refresh.refresh(), handOver: (id) => recovery.handOver(id), logger });
  subscriber.on('message', (channel: string, text: string) => listener.handle(channel, text));
  await subscribeWhenReady(subscriber, listener.channels);
  refresh.start();
  // No API reads it while the guard is off.
  if (config.MAX_EXPECTED_WAIT_MS > 0) waits.start(expectedWaitIntervalMs(config.FLEET_REFRESH_MS));

  const consumer = new Worker<JobPayload>(
    INGRESS_QUEUE,
    (job, token) => router.dispatch(job, token),
    consumerOptions(consumerConnection, config.KEY_PREFIX, {
      concurrency: config.DISPATCH_CONCURRENCY,
      lockDuration: config.LOCK_DURATION_MS,
      stalledInterval: config.LOCK_DURATION_MS,
    }),
  );
  redisErrors.watch(consumer, 'ingress consumer');
  consumer.on('failed', (job, error) => {
    // finishedOn is set only when no attempt is left (a passing Redis error is retried).
    if (job !== undefined && job.finishedOn !== undefined) router.failed(job.id ?? '', job.data, error);
  });
  consumer.on('lockRenewalFailed', (ids: string[]) => holder?.lost(ids));

  // Queue counts come from BullMQ's own exporter: ingress and every worker queue this dispatcher knows.
  const queueMetrics = async (): Promise<string> => {
    for (const { view } of fleet.workers()) workerQueues.get(view.id);
    return mergeExpositions(await Promise.all([ingress, ...workerQueues.opened()].map((q) => q.exportPrometheusMetrics())));
  };
  const metricsServer =
    options.serveMetrics === false ? null : await startMetricsServer(registry, config.DISPATCHER_METRICS_PORT, config.METRICS_HOST, queueMetrics);
  logger.info({ policy: policyName, metricsPort: metricsServer?.port }, 'dispatcher started');

  const close = async (): Promise<void> => {
    refresh.stop();
    waits.stop();
    const closed = consumer.close();
    holder?.release();
    await closed;
    await recovery.idle();
    await sender?.close();
    await Promise.all([outbox.close(), ingress.close(), workerQueues.close()]);
    await Promise.all([closeRedis(redis), closeRedis(subscriber), closeRedis(consumerConnection)]);
    if (metricsServer) await new Promise<void>((resolve) => metricsServer.server.close(() => resolve()));
    logger.info('dispatcher stopped');
  };
  let closing: Promise<void> | null = null;
  return {
    fleet,
    registry,
    metricsPort: metricsServer?.port ?? null,
    decisionMicros: decisions.samples,
    refreshFleet: () => refresh.refresh(),
    close: () => (closing ??= close()),
  };
}
