import type { Redis } from 'ioredis';
import type { StatusMessage } from '@sched/core';
import type { Logger } from '@sched/runtime';

/** Announces one status change of a job; never throws (a lost announcement is logged, the job goes on). */
export type PublishStatus = (message: StatusMessage) => void;

/**
 * Publishes on `channel` over `redis`: the connection the dispatcher also writes routes and
 * worker-queue adds on, so Redis applies a route, its `dispatched` message and the add in order.
 */
export function statusPublisher(redis: Pick<Redis, 'publish'>, channel: string, logger: Pick<Logger, 'warn'>): PublishStatus {
  return (message) => {
    redis.publish(channel, JSON.stringify(message)).catch((error: unknown) => {
      logger.warn({ jobId: message.id, err: String(error) }, 'could not publish status');
    });
  };
}
