import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { createBullBoard } from '@bull-board/api';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import type { Router } from 'express';
import type { Redis } from 'ioredis';
import { INGRESS_QUEUE, keySpace, workerQueueName, type Config } from '@sched/core';
import { producerQueueOptions, type Logger, type RedisErrorLog } from '@sched/runtime';
import { defineRoute, textResponse, type ApiRoute } from './api-route.js';

export const BULL_BOARD_PATH = '/admin/queues';

export interface BullBoardOptions {
  config: Pick<Config, 'KEY_PREFIX' | 'BULL_BOARD_READ_ONLY'>;
  /** The API's fail-fast connection, so a Redis outage shows as errors, not hangs. */
  redis: Redis;
  redisLog: Pick<RedisErrorLog, 'watch'>;
  logger: Pick<Logger, 'debug'>;
}

export interface BullBoard {
  /** Bull Board's own Express app (pages, files, JSON API), mounted at BULL_BOARD_PATH. */
  readonly router: Router;
  /** `GET /admin/queues`, the board's entry: picks up workers that joined since the last sync, then hands over to the board. */
  readonly entry: ApiRoute;
  /** Adds the queues of workers seen since the last sync (the board follows the fleet without a restart). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** Bull Board over ingress and every worker queue ever seen in the fleet set. */
export function createBoard(options: BullBoardOptions): BullBoard {
  const { config, redis, redisLog, logger } = options;
  const keys = keySpace(config.KEY_PREFIX);
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  const adapterOptions = { readOnlyMode: config.BULL_BOARD_READ_ONLY };
  const queues = new Map<string, Queue>();
  const open = (name: string): BullMQAdapter => {
    const queue = new Queue(name, producerQueueOptions(redis, config.KEY_PREFIX));
    redisLog.watch(queue, `bull board queue ${name}`);
    queues.set(name, queue);
    return new BullMQAdapter(queue, adapterOptions);
  };
  const board = createBullBoard({
    queues: [open(INGRESS_QUEUE)],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Scheduler queues' } },
  });

  const sync = async (): Promise<void> => {
    if (redis.status !== 'ready') return;
    const ids = await redis.zrange(keys.fleetSet, 0, -1);
    for (const id of ids.sort()) {
      const name = workerQueueName(id);
      if (!queues.has(name)) {
        board.addQueue(open(name));
        logger.debug({ queue: name }, 'bull board follows a new worker queue');
      }
    }
  };

  const entry = defineRoute({
    method: 'get',
    path: BULL_BOARD_PATH,
    operationId: 'getQueueBoard',
    tag: 'pages',
    summary: "Bull Board over ingress and every worker queue (its own routes below this path are Bull Board's)",
    access: 'browser',
    responses: { 200: textResponse('text/html', 'Bull Board') },
    errors: ['unauthorized'],
    handle: async (_input, _req, _res, next) => {
      // Opening the board picks up workers that joined since the last tick; its assets and polling do not re-read.
      await sync().catch(() => undefined);
      next('route');
    },
  });

  return {
    router: serverAdapter.getRouter() as Router,
    entry,
    sync,
    close: async () => {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
