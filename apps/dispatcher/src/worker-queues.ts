import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { workerQueueName, type JobPayload } from '@sched/core';
import { producerQueueOptions, type RedisErrorLog } from '@sched/runtime';

export interface WorkerQueuesOptions {
  readonly connection: Redis;
  readonly prefix: string;
  readonly redisErrors: Pick<RedisErrorLog, 'watch'>;
}

/** The worker queues this dispatcher writes to or reads, one BullMQ Queue per worker, opened on first use. */
export class WorkerQueues {
  private readonly queues = new Map<string, Queue<JobPayload>>();

  constructor(private readonly options: WorkerQueuesOptions) {}

  get(workerId: string): Queue<JobPayload> {
    let queue = this.queues.get(workerId);
    if (queue === undefined) {
      const name = workerQueueName(workerId);
      queue = new Queue<JobPayload>(name, producerQueueOptions(this.options.connection, this.options.prefix));
      this.options.redisErrors.watch(queue, `queue ${name}`);
      this.queues.set(workerId, queue);
    }
    return queue;
  }

  /** Every queue opened so far. */
  opened(): Queue<JobPayload>[] {
    return [...this.queues.values()];
  }

  async close(): Promise<void> {
    await Promise.all(this.opened().map((queue) => queue.close()));
  }
}
