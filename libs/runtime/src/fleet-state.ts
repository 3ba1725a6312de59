import type { Redis } from 'ioredis';
import { type KeySpace, workerQueueName, decodeDescriptor, type WorkerDescriptor } from '@sched/core';

/** One worker as Redis knows it: its descriptor (null once it died) and its queue's load. */
export interface WorkerQueueState {
  id: string;
  descriptor: WorkerDescriptor | null;
  /** Score in the fleet set: the last heartbeat ever seen, epoch ms. */
  lastSeenAt: number;
  /** wait + prioritized: jobs routed to the worker and not yet started. */
  waiting: number;
  active: number;
  /** Ids of the active jobs (a handful: at most the worker's slots), so a reader can tell which finished since. */
  activeIds: string[];
  /** Retries backing off before they return to `waiting`. */
  delayed: number;
}

/**
 * Reads every worker ever seen and its queue's load: one ZRANGE, then one
 * pipeline for all workers. Load comes from the BullMQ keys themselves.
 */
export async function readFleetState(redis: Redis, keys: KeySpace, onReadIssued?: () => void): Promise<WorkerQueueState[]> {
  const members = await redis.zrange(keys.fleetSet, 0, -1, 'WITHSCORES');
  const ids: string[] = [];
  const seen: number[] = [];
  for (let i = 0; i + 1 < members.length; i += 2) {
    ids.push(members[i] as string);
    seen.push(Number(members[i + 1]));
  }
  if (ids.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const id of ids) {
    const queue = workerQueueName(id);
    pipeline.hgetall(keys.workerDescriptor(id));
    pipeline.llen(keys.queueKey(queue, 'wait'));
    pipeline.zcard(keys.queueKey(queue, 'prioritized'));
    pipeline.lrange(keys.queueKey(queue, 'active'), 0, -1);
    pipeline.zcard(keys.queueKey(queue, 'delayed'));
  }
  // Commands sent on this connection before this point are in the read, later ones are not.
  onReadIssued?.();
  const replies = (await pipeline.exec()) ?? [];
  const value = (i: number): unknown => {
    const [error, result] = replies[i] ?? [null, null];
    if (error) throw error;
    return result;
  };
  return ids.map((id, w) => {
    const base = w * 5;
    return {
      id,
      descriptor: decodeDescriptor(value(base) as Record<string, string>),
      lastSeenAt: seen[w] ?? 0,
      waiting: Number(value(base + 1)) + Number(value(base + 2)),
      active: (value(base + 3) as string[]).length,
      activeIds: value(base + 3) as string[],
      delayed: Number(value(base + 4)),
    };
  });
}
