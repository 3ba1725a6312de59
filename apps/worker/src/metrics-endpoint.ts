import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { workerQueueName } from '@sched/core';
import { producerQueueOptions, type RedisErrorLog } from '@sched/runtime';
import { mergeExpositions, startMetricsServer } from '@sched/telemetry';
import type { Registry } from 'prom-client';

export interface MetricsEndpointOptions {
  readonly registry: Registry;
  readonly port: number;
  /** The bind address (METRICS_HOST). */
  readonly host: string;
  /** The host's workers, whose queues' counts are served too. */
  readonly workerIds: readonly string[];
  /** The host's shared connection, for the queues. */
  readonly connection: Redis;
  readonly prefix: string;
  readonly redisErrors: RedisErrorLog;
}

/** The worker host's /metrics: its registry, plus each worker queue's counts from BullMQ's exporter as one family per metric. */
export class MetricsEndpoint {
  private constructor(
    readonly port: number,
    private readonly closeServer: () => Promise<void>,
    private readonly queues: readonly Queue[],
  ) {}

  static async start(options: MetricsEndpointOptions): Promise<MetricsEndpoint> {
    const queues = options.workerIds.map((id) => {
      const queue = new Queue(workerQueueName(id), producerQueueOptions(options.connection, options.prefix));
      options.redisErrors.watch(queue, `queue:${workerQueueName(id)}`);
      return queue;
    });
    const queueMetrics = async (): Promise<string> => mergeExpositions(await Promise.all(queues.map((queue) => queue.exportPrometheusMetrics())));
    const { server, port } = await startMetricsServer(options.registry, options.port, options.host, queueMetrics).catch(async (error: unknown) => {
      await Promise.all(queues.map((queue) => queue.close()));
      throw error;
    });
    const closeServer = () => new Promise<void>((resolve) => server.close(() => resolve()));
    return new MetricsEndpoint(port, closeServer, queues);
  }

  async close(): Promise<void> {
    await Promise.all([this.closeServer(), ...this.queues.map((queue) => queue.close())]);
  }
}
