import { Redis, type RedisOptions } from 'ioredis';
import { dropBullmqEventStream } from './bullmq-event-stream.js';

/**
 * - `producer`: the API's connection. Fails fast: no offline queue, one retry,
 *   a command timeout, so a request gets a 503 instead of hanging while Redis is down.
 * - `blocking`: BullMQ workers and pub/sub subscribers. BullMQ requires
 *   `maxRetriesPerRequest: null` here; commands wait out a reconnect.
 * - `service`: background services' plain commands (dispatcher, worker host):
 *   they ride out a Redis restart rather than fail.
 */
export type RedisRole = 'producer' | 'blocking' | 'service';

/** Reconnect delay: grows 100 ms per attempt, capped at 2 s. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(attempt * 100, 2000);
}

export interface RedisFactoryOptions {
  /** Timeout for one command on a producer connection (ms). */
  commandTimeoutMs?: number;
  connectionName?: string;
  /**
   * Keep BullMQ's per-queue event streams (only `QueueEvents` reads them). Off, the scripts BullMQ
   * defines on this connection skip their stream writes (see bullmq-event-stream.ts).
   * @defaultValue false
   */
  bullmqEvents?: boolean;
}

export function createRedis(url: string, role: RedisRole, options: RedisFactoryOptions = {}): Redis {
  const common: RedisOptions = {
    retryStrategy: reconnectDelayMs,
    connectTimeout: 2000,
    connectionName: options.connectionName,
  };
  const byRole: Record<RedisRole, RedisOptions> = {
    producer: {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 1000,
    },
    blocking: { maxRetriesPerRequest: null, enableOfflineQueue: true },
    service: { maxRetriesPerRequest: null, enableOfflineQueue: true },
  };
  const redis = new Redis(url, { ...common, ...byRole[role] });
  if (options.bullmqEvents !== true) dropBullmqEventStream(redis);
  return redis;
}

/** Quit politely, falling back to a hard disconnect if Redis is gone. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await Promise.race([redis.quit(), new Promise((_, reject) => setTimeout(() => reject(new Error('quit timeout')), 500))]);
  } catch {
    redis.disconnect();
  }
}

/**
 * Subscribes once the connection is ready. Queuing SUBSCRIBE before the
 * connection's own start-up commands (ready check, CLIENT SETNAME) puts it in
 * subscriber mode too early and those fail; ioredis re-subscribes by itself
 * after a reconnect.
 */
export async function subscribeWhenReady(redis: Redis, channels: readonly string[]): Promise<void> {
  if (redis.status !== 'ready') {
    await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
  }
  await redis.subscribe(...channels);
}
