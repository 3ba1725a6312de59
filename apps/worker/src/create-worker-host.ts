import { randomInt } from 'node:crypto';
import { keySpace, loadCatalog, seededRng, type Catalog, type Config, type Rng } from '@sched/core';
import { RedisErrorLog, WebhookOutbox, closeRedis, createLogger, createRedis, type Logger } from '@sched/runtime';
import { LatencyModel } from '@sched/exec';
import { createRegistry, createWorkerMetrics } from '@sched/telemetry';
import type { Registry } from 'prom-client';
import { CancelListener } from './cancel-listener.js';
import { ExecutionLog } from './execution-log.js';
import { MetricsEndpoint } from './metrics-endpoint.js';
import { selectWorkers } from './select-workers.js';
import { SimulatedWorker } from './simulated-worker.js';
import { WorkerPresence } from './worker-presence.js';

export interface WorkerHostOptions {
  /** @defaultValue the fleet file named by FLEET_FILE */
  fleet?: Catalog;
  logger?: Logger;
  /** @defaultValue a random seed */
  rng?: Rng;
  /** Serve /metrics on WORKER_METRICS_PORT. @defaultValue true */
  serveMetrics?: boolean;
}

export interface WorkerHost {
  readonly workers: readonly SimulatedWorker[];
  readonly registry: Registry;
  /** The metrics port actually bound (null when not serving). */
  readonly metricsPort: number | null;
  /** Drain every worker (finish active jobs within SHUTDOWN_TIMEOUT_MS), remove their descriptors, close connections. */
  close(): Promise<void>;
}

/** Runs the fleet file's workers (or the WORKER_IDS subset) in this process. */
export async function createWorkerHost(config: Config, options: WorkerHostOptions = {}): Promise<WorkerHost> {
  const fleet = options.fleet ?? loadCatalog(config.FLEET_FILE);
  const logger = options.logger ?? createLogger('worker', config.LOG_LEVEL);
  const specs = selectWorkers(fleet, config.WORKER_IDS);
  const keys = keySpace(config.KEY_PREFIX);
  const registry = createRegistry('worker');
  const metrics = createWorkerMetrics(registry, config.METRICS_ENABLED);
  const redisErrors = new RedisErrorLog(logger);
  const publisher = createRedis(config.REDIS_URL, 'service', { connectionName: 'worker-host', bullmqEvents: config.BULLMQ_EVENTS });
  redisErrors.watchConnection(publisher, 'worker-host');
  const outbox = new WebhookOutbox(publisher, config, redisErrors);
  const latency = new LatencyModel(fleet.models);
  const rng = options.rng ?? seededRng(randomInt(2 ** 31));
  const executionLog = ExecutionLog.open(config.EXECUTION_LOG);
  const workers = specs.map(
    (spec) => new SimulatedWorker(spec, { config, keys, latency, models: fleet.models, publisher, outbox, redisErrors, logger, metrics, rng, executionLog }),
  );
  const presence = new WorkerPresence({ redis: publisher, keys, heartbeatMs: config.HEARTBEAT_MS, workers, logger });
  const subscriber = createRedis(config.REDIS_URL, 'blocking', { connectionName: 'worker-host:cancel', bullmqEvents: config.BULLMQ_EVENTS });
  redisErrors.watchConnection(subscriber, 'worker-host:cancel');
  // Subscribed before any job can start, so a cancel of a running job always finds its host listening.
  await new CancelListener({ subscriber, keys, workers, logger }).start();

  // Heartbeat first so dispatchers can route to the workers the moment they consume.
  await presence.beat();
  for (const worker of workers) worker.start();
  await presence.announce('joined');
  presence.startBeating();
  const endpoint =
    options.serveMetrics === false
      ? null
      : await MetricsEndpoint.start({
          registry,
          port: config.WORKER_METRICS_PORT,
          host: config.METRICS_HOST,
          workerIds: specs.map((spec) => spec.id),
          connection: publisher,
          prefix: config.KEY_PREFIX,
          redisErrors,
        });
  logger.info({ workers: specs.map((spec) => spec.id), metricsPort: endpoint?.port }, 'worker host started');

  const close = async (): Promise<void> => {
    presence.stopBeating();
    // Every worker stops fetching at once; the draining beat then tells dispatchers to stop routing here.
    const drained = Promise.all(workers.map((worker) => worker.drain(config.SHUTDOWN_TIMEOUT_MS)));
    await presence.markDraining();
    await drained;
    await presence.leave();
    await Promise.all([endpoint?.close(), outbox.close()]);
    await Promise.all([closeRedis(publisher), closeRedis(subscriber)]);
    executionLog?.close();
    logger.info('worker host stopped');
  };
  let closing: Promise<void> | null = null;
  return { workers, registry, metricsPort: endpoint?.port ?? null, close: () => (closing ??= close()) };
}
