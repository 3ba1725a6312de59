import { randomInt } from 'node:crypto';
import { keySpace, loadCatalog, seededRng, workerQueueName, type Config, type Catalog, type FleetMessage, type Rng } from '@sched/core';
import { WebhookOutbox, closeRedis, createLogger, createRedis, type Logger } from '@sched/runtime';
import { Queue } from 'bullmq';
import { LatencyModel } from '@sched/exec';
import { createRegistry, createWorkerMetrics, mergeExpositions, startMetricsServer } from '@sched/telemetry';
import type { Registry } from 'prom-client';
import { SimulatedWorker } from './simulated-worker.js';

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
  const keys = keySpace(config.KEY_PREFIX);
  const selected = config.WORKER_IDS === undefined ? fleet.workers : fleet.workers.filter((w) => config.WORKER_IDS?.includes(w.id));
  const unknown = (config.WORKER_IDS ?? []).filter((id) => !fleet.workers.some((w) => w.id === id));
  if (unknown.length > 0) throw new Error(`WORKER_IDS names workers not in the fleet file: ${unknown.join(', ')}`);

  const registry = createRegistry('worker');
  const metrics = createWorkerMetrics(registry, config.METRICS_ENABLED);
  const publisher = createRedis(config.REDIS_URL, 'service', { connectionName: 'worker-host' });
  publisher.on('error', (error: Error) => logger.debug({ err: error.message }, 'redis error'));
  const latency = new LatencyModel(fleet.models);
  const rng = options.rng ?? seededRng(randomInt(2 ** 31));
  const outbox = new WebhookOutbox(publisher, config);
  const workers = selected.map((spec) => new SimulatedWorker(spec, { config, keys, latency, models: fleet.models, publisher, outbox, logger, metrics, rng }));

  const heartbeat = async (): Promise<void> => {
    const now = Date.now();
    const pipeline = publisher.pipeline();
    for (const worker of workers) worker.heartbeat(pipeline, now);
    await pipeline.exec();
  };
  const announce = async (event: FleetMessage['event']): Promise<void> => {
    const pipeline = publisher.pipeline();
    for (const worker of workers) {
      const message: FleetMessage = { worker: worker.spec.id, event, at: Date.now() };
      pipeline.publish(keys.fleetChannel, JSON.stringify(message));
    }
    await pipeline.exec();
  };

  // Heartbeat first so dispatchers can route to the workers the moment they consume.
  await heartbeat();
  for (const worker of workers) worker.start();
  await announce('joined');
  const timer = setInterval(() => {
    heartbeat().catch((error: unknown) => logger.warn({ err: String(error) }, 'heartbeat failed'));
  }, config.HEARTBEAT_MS);

  // Each worker's own queue counts, from BullMQ's exporter, one family for the process.
  const queues = workers.map((w) => new Queue(workerQueueName(w.spec.id), { connection: publisher, prefix: config.KEY_PREFIX, skipVersionCheck: true }));
  const queueMetrics = async (): Promise<string> => mergeExpositions(await Promise.all(queues.map((q) => q.exportPrometheusMetrics())));
  const metricsServer =
    options.serveMetrics === false ? null : await startMetricsServer(registry, config.WORKER_METRICS_PORT, '0.0.0.0', queueMetrics);
  logger.info({ workers: workers.map((w) => w.spec.id), metricsPort: metricsServer?.port }, 'worker host started');

  let closing: Promise<void> | null = null;
  const close = async (): Promise<void> => {
    clearInterval(timer);
    const drains = workers.map((worker) => worker.drain(config.SHUTDOWN_TIMEOUT_MS));
    // Mark draining at once so dispatchers stop routing here before the drain ends.
    await heartbeat().catch(() => undefined);
    await announce('draining').catch(() => undefined);
    await Promise.all(drains);
    const pipeline = publisher.pipeline();
    for (const worker of workers) pipeline.del(keys.workerDescriptor(worker.spec.id));
    await pipeline.exec().catch(() => undefined);
    await announce('left').catch(() => undefined);
    await Promise.all([...queues.map((q) => q.close()), outbox.close()]);
    await closeRedis(publisher);
    if (metricsServer) await new Promise<void>((resolve) => metricsServer.server.close(() => resolve()));
    logger.info('worker host stopped');
  };

  return {
    workers,
    registry,
    metricsPort: metricsServer?.port ?? null,
    close: () => (closing ??= close()),
  };
}
