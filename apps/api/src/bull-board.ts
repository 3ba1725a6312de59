import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { createBullBoard } from '@bull-board/api';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import type { RequestHandler, Router } from 'express';
import type { Redis } from 'ioredis';
import { INGRESS_QUEUE, SchedError, keySpace, workerQueueName, type Config, type JobPayload, type JobResult, type Tenant } from '@sched/core';
import { producerQueueOptions, type Logger, type RedisErrorLog } from '@sched/runtime';
import { tenantOf } from './api-keys.js';
import { defineRoute, textResponse, type ApiRoute } from './api-route.js';
import { sendProblem } from './problem.js';

export const BULL_BOARD_PATH = '/admin/queues';

export interface BullBoardOptions {
  config: Pick<Config, 'KEY_PREFIX' | 'BULL_BOARD_READ_ONLY'>;
  /** Whether the server has API keys (without them no one is an admin). */
  keysEnabled: boolean;
  /** The API's fail-fast connection, so a Redis outage shows as errors, not hangs. */
  redis: Redis;
  redisLog: Pick<RedisErrorLog, 'watch'>;
  logger: Pick<Logger, 'debug'>;
}

export interface BullBoard {
  /**
   * Bull Board's own Express app (pages, files, JSON API), mounted at BULL_BOARD_PATH behind the key
   * check: the writable board for a tenant that may mutate queues (see mayMutateQueues), with the
   * mutations that skip validation or run a job twice refused; the read-only one for anyone else,
   * which refuses every request but a read (403) and shows no job's input or output.
   */
  readonly router: RequestHandler;
  /** `GET /admin/queues`, the board's entry: picks up workers that joined since the last sync, then hands over to the board. */
  readonly entry: ApiRoute;
  /** Adds the queues of workers seen since the last sync (the board follows the fleet without a restart). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Who may use Bull Board's mutations (pause, resume, retry a failed job, clean, obliterate, …):
 * with API keys, admin keys only, unless BULL_BOARD_READ_ONLY=true (no one); without keys, no one,
 * unless the operator opts in with BULL_BOARD_READ_ONLY=false (everyone: a trusted network).
 */
export function mayMutateQueues(tenant: Pick<Tenant, 'admin'>, readOnly: boolean | undefined, keysEnabled: boolean): boolean {
  if (readOnly === true) return false;
  return keysEnabled ? tenant.admin : readOnly === false;
}

const ADMIN_ONLY = 'shown to admin keys only';

/** A job's payload without its input, metadata or owner: what a read-only viewer may see of another tenant's job. */
const redactedData = (data: Partial<JobPayload> | undefined): Record<string, unknown> => ({
  model: data?.model,
  priority: data?.priority,
  createdAt: data?.createdAt,
  input: ADMIN_ONLY,
});
const redactedResult = (result: Partial<JobResult> | undefined): Record<string, unknown> =>
  result === undefined || result === null ? {} : { model: result.model, worker: result.worker, class: result.class, output: ADMIN_ONLY };

/** Mutations no one gets: `add` and editing a job's data put a job in without validation; a completed job's retry runs it twice. */
const NEVER: readonly { method: string; path: RegExp; why: string }[] = [
  { method: 'POST', path: /^\/api\/queues\/[^/]+\/add\/?$/i, why: 'adding a job here would skip validation; submit it with POST /v1/jobs' },
  { method: 'PATCH', path: /^\/api\/queues\/[^/]+\/[^/]+\/update-data\/?$/i, why: "editing a job's data would skip validation" },
  { method: 'PUT', path: /^\/api\/queues\/[^/]+\/retry\/completed\/?$/i, why: 'retrying completed jobs would run them a second time' },
];
const JOB_RETRY = /^\/api\/queues\/([^/]+)\/([^/]+)\/retry\/?$/i;

const decoded = (segment: string): string | undefined => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
};

/** Bull Board over ingress and every worker queue ever seen in the fleet set: one writable board, one read-only. */
export function createBoard(options: BullBoardOptions): BullBoard {
  const { config, keysEnabled, redis, redisLog, logger } = options;
  const keys = keySpace(config.KEY_PREFIX);
  const queues = new Map<string, Queue>();
  const open = (name: string): Queue => {
    const queue = new Queue(name, producerQueueOptions(redis, config.KEY_PREFIX));
    redisLog.watch(queue, `bull board queue ${name}`);
    queues.set(name, queue);
    return queue;
  };
  const ingress = open(INGRESS_QUEUE);
  const board = (readOnlyMode: boolean): { router: Router; add(queue: Queue): void } => {
    const serverAdapter = new ExpressAdapter();
    serverAdapter.setBasePath(BULL_BOARD_PATH);
    // BaseAdapter honours allowCompletedRetries (it hides the button); BullMQAdapter's type leaves it out.
    const adapterOptions: { readOnlyMode: boolean; allowCompletedRetries: boolean } = { readOnlyMode, allowCompletedRetries: false };
    const adapter = (queue: Queue): BullMQAdapter => {
      const adapted = new BullMQAdapter(queue, adapterOptions);
      if (readOnlyMode) {
        adapted.setFormatter('data', redactedData);
        adapted.setFormatter('returnValue', redactedResult);
      }
      return adapted;
    };
    const created = createBullBoard({ queues: [adapter(ingress)], serverAdapter, options: { uiConfig: { boardTitle: 'Scheduler queues' } } });
    return { router: serverAdapter.getRouter() as Router, add: (queue) => created.addQueue(adapter(queue)) };
  };
  const writable = board(false);
  const readOnly = board(true);

  const sync = async (): Promise<void> => {
    if (redis.status !== 'ready') return;
    const ids = await redis.zrange(keys.fleetSet, 0, -1);
    for (const id of ids.sort()) {
      const name = workerQueueName(id);
      if (!queues.has(name)) {
        const queue = open(name);
        writable.add(queue);
        readOnly.add(queue);
        logger.debug({ queue: name }, 'bull board follows a new worker queue');
      }
    }
  };

  /** Why a mutation is refused to a tenant that may mutate queues; undefined when it may go ahead. */
  const refusal = async (method: string, path: string): Promise<string | undefined> => {
    const never = NEVER.find((rule) => rule.method === method && rule.path.test(path));
    if (never !== undefined) return never.why;
    const retry = method === 'PUT' ? JOB_RETRY.exec(path) : null;
    if (retry === null) return undefined;
    const queue = queues.get(decoded(retry[1] ?? '') ?? '');
    const jobId = decoded(retry[2] ?? '');
    // Only a failed job: one that is not failed now may be completed by the time the board retries it.
    if (queue === undefined || jobId === undefined) return undefined;
    const state = await queue.getJobState(jobId);
    return state === 'failed' || state === 'unknown' ? undefined : `only a failed job can be retried here; this one is ${state}`;
  };

  const router: RequestHandler = async (req, res, next) => {
    const writer = mayMutateQueues(tenantOf(res), config.BULL_BOARD_READ_ONLY, keysEnabled);
    if (req.method === 'GET' || req.method === 'HEAD') {
      (writer ? writable.router : readOnly.router)(req, res, next);
      return;
    }
    const why = writer ? await refusal(req.method, req.path) : 'Bull Board is read-only for this key; its mutations need an admin key (ADMIN_API_KEYS)';
    if (why !== undefined) {
      sendProblem(res, new SchedError('forbidden', why), req.originalUrl);
      return;
    }
    writable.router(req, res, next);
  };

  const entry = defineRoute({
    method: 'get',
    path: BULL_BOARD_PATH,
    operationId: 'getQueueBoard',
    tag: 'pages',
    summary: "Bull Board over ingress and every worker queue (its own routes below this path are Bull Board's)",
    description:
      'Read-only, without job inputs and outputs, for every key but admin keys (and for everyone without keys unless BULL_BOARD_READ_ONLY=false); its mutations answer 403 `forbidden` then. Adding a job, editing its data and retrying a completed job are refused to everyone.',
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
    router,
    entry,
    sync,
    close: async () => {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
