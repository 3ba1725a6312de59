import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { createBullBoard } from '@bull-board/api';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import type { Router } from 'express';
import type { Redis } from 'ioredis';
import { INGRESS_QUEUE, workerQueueName, type Config, type KeySpace } from '@sched/core';
import type { Logger } from '@sched/runtime';

export const BULL_BOARD_PATH = '/admin/queues';

export interface BullBoard {
  readonly router: Router;
  /** Adds the queues of workers seen since the last sync (the board follows the fleet without a restart). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Bull Board over ingress and every worker queue ever seen in the fleet set.
 * It uses the API's fail-fast connection, so a Redis outage shows as errors, not hangs.
 */
export function createBoard(config: Config, redis: Redis, keys: KeySpace, logger: Logger): BullBoard {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  const options = { readOnlyMode: config.BULL_BOARD_READ_ONLY };
  const queues = new Map<string, Queue>();
  const open = (name: string): BullMQAdapter => {
    const queue = new Queue(name, { connection: redis, prefix: config.KEY_PREFIX, skipVersionCheck: true });
    queue.on('error', () => undefined);
    queues.set(name, queue);
    return new BullMQAdapter(queue, options);
  };
  const board = createBullBoard({
    queues: [open(INGRESS_QUEUE)],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Scheduler queues' } },
  });

  return {
    router: serverAdapter.getRouter() as Router,
    sync: async () => {
      if (redis.status !== 'ready') return;
      const ids = await redis.zrange(keys.fleetSet, 0, -1);
      for (const id of ids.sort()) {
        const name = workerQueueName(id);
        if (!queues.has(name)) {
          board.addQueue(open(name));
          logger.debug({ queue: name }, 'bull board follows a new worker queue');
        }
      }
    },
    close: async () => {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
