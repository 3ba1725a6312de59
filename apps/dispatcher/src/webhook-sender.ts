import * as http from 'node:http';
import * as https from 'node:https';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
import { Webhook } from 'standardwebhooks';
import { WEBHOOK_QUEUE, isTerminal, type Config, type JobView, type KeySpace, type WebhookState } from '@sched/core';
import {
  WEBHOOK_BACKOFF_TYPE,
  closeRedis,
  consumerOptions,
  createRedis,
  type JobReader,
  type Logger,
  type RedisErrorLog,
  type WebhookJobData,
  waitOutRedis,
} from '@sched/runtime';
import { WEBHOOK_FAILURE_REASONS, WEBHOOK_OUTCOMES, type DispatcherMetrics, type WebhookFailureReason } from '@sched/telemetry';
import { ReceiverSlots } from './receiver-slots.js';

/** Each retry waits this many times longer than the one before (before jitter). */
export const WEBHOOK_BACKOFF_FACTOR = 5;
/** Retry delays are spread ±20 % so a receiver coming back is not hit by every retry at once. */
const JITTER = 0.2;
/** A Retry-After longer than this is capped. */
const MAX_RETRY_AFTER_MS = 86_400_000;
const USER_AGENT = 'sched-webhooks/0.1';

/** The receiver a delivery counts against for WEBHOOK_MAX_PER_RECEIVER: its URL's origin. */
function receiverOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/** A failed attempt that should be tried again, honouring the receiver's Retry-After when it sent one. */
export class WebhookAttemptError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
    this.name = 'WebhookAttemptError';
  }
}

/**
 * Delay before retry n (n = failed attempts so far, from 1): base × 5^(n−1), ±20 % jitter, or the
 * receiver's Retry-After. With the default 5 s base and 8 attempts the retries come after about
 * 5 s, 25 s, 2 min, 10 min, 52 min, 4.3 h and 21.7 h: about 27 h in all.
 */
export function webhookBackoffMs(attemptsMade: number, baseMs: number, error: unknown, random: () => number = Math.random): number {
  if (error instanceof WebhookAttemptError && error.retryAfterMs !== undefined) return error.retryAfterMs;
  const nominal = baseMs * WEBHOOK_BACKOFF_FACTOR ** Math.max(0, attemptsMade - 1);
  return Math.round(nominal * (1 - JITTER + 2 * JITTER * random()));
}

/** Retry-After as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  // delta-seconds, or an IMF-fixdate (which always names a day and a month).
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : /[A-Za-z]{3}/.test(trimmed) ? Date.parse(trimmed) - now : NaN;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

interface Answer {
  status: number;
  retryAfter: string | undefined;
}

export interface WebhookSenderDeps {
  config: Pick<
    Config,
    | 'REDIS_URL'
    | 'KEY_PREFIX'
    | 'WEBHOOK_CONCURRENCY'
    | 'WEBHOOK_MAX_PER_RECEIVER'
    | 'LOCK_DURATION_MS'
    | 'WEBHOOK_TIMEOUT_MS'
    | 'WEBHOOK_BACKOFF_MS'
    | 'WEBHOOK_RECHECK_MS'
    | 'WEBHOOK_ALLOW_PRIVATE'
    | 'BULLMQ_EVENTS'
    | 'RESULT_TTL_S'
  >;
  keys: Pick<KeySpace, 'webhookState'>;
  /** Connection for the delivery records. */
  redis: Redis;
  reader: Pick<JobReader, 'read'>;
  metrics: Pick<DispatcherMetrics, 'webhookDeliveries' | 'webhooksFailed' | 'webhookLatency'>;
  logger: Logger;
  redisErrors: Pick<RedisErrorLog, 'watch' | 'watchConnection'>;
}

/**
 * Consumes the `webhooks` queue: for each finished job, POSTs the job view (the JSON of
 * GET /v1/jobs/:id) signed per Standard Webhooks, with a stable `webhook-id` (the job id).
 * Only 2xx is success; redirects are not followed; 410 stops retrying. The address is
 * checked on the socket after DNS resolution (request-filtering-agent), so a hostname
 * that resolves to a private address is refused even if it changed since submission.
 * A retried delivery carries the view it first sent, so its schedule outlives the job's
 * retention; one given up is recorded `failed` and counted. At most WEBHOOK_MAX_PER_RECEIVER
 * deliveries are in flight to one receiver (ReceiverSlots).
 */
export class WebhookSender {
  private readonly signer: Webhook;
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly connection: Redis;
  private readonly worker: Worker<WebhookJobData>;
  private readonly log: Logger;
  private readonly slots: ReceiverSlots;

  constructor(
    private readonly deps: WebhookSenderDeps,
    secret: string,
  ) {
    const { config, metrics } = deps;
    this.log = deps.logger.child({ component: 'webhooks' });
    this.signer = new Webhook(secret);
    const filter = { allowPrivateIPAddress: config.WEBHOOK_ALLOW_PRIVATE, keepAlive: true, maxSockets: 256 };
    this.agents = { http: new RequestFilteringHttpAgent(filter), https: new RequestFilteringHttpsAgent(filter) };
    for (const outcome of WEBHOOK_OUTCOMES) metrics.webhookDeliveries.inc({ outcome }, 0);
    for (const reason of WEBHOOK_FAILURE_REASONS) metrics.webhooksFailed.inc({ reason }, 0);
    this.slots = new ReceiverSlots({ maxPerReceiver: config.WEBHOOK_MAX_PER_RECEIVER, timeoutMs: config.WEBHOOK_TIMEOUT_MS });
    this.connection = createRedis(config.REDIS_URL, 'blocking', { connectionName: 'dispatcher-webhooks', bullmqEvents: config.BULLMQ_EVENTS });
    deps.redisErrors.watchConnection(this.connection, 'dispatcher-webhooks');
    this.worker = new Worker<WebhookJobData>(
      WEBHOOK_QUEUE,
      (job, token) => this.deliver(job, token),
      consumerOptions(this.connection, config.KEY_PREFIX, {
        concurrency: config.WEBHOOK_CONCURRENCY,
        // An attempt may take the whole timeout; its lock must outlive it.
        lockDuration: Math.max(config.LOCK_DURATION_MS, config.WEBHOOK_TIMEOUT_MS + 5000),
        settings: {
          // Every job on this queue is added with this backoff type (WebhookOutbox); anything else is retried at once.
          backoffStrategy: (attemptsMade, type, error) => (type === WEBHOOK_BACKOFF_TYPE ? webhookBackoffMs(attemptsMade, config.WEBHOOK_BACKOFF_MS, error) : 0),
        },
      }),
    );
    deps.redisErrors.watch(this.worker, 'webhook consumer');
  }

  /**
   * One pick-up of a delivery: at its receiver's cap it goes back, delayed, using no attempt;
   * otherwise one attempt. A write Redis refuses (full, read-only) puts it back the same way.
   */
  private async deliver(job: Job<WebhookJobData>, token: string | undefined): Promise<{ status: number }> {
    const receiver = receiverOf(job.data.url);
    const release = this.slots.tryAcquire(receiver);
    if (release === null) {
      await job.moveToDelayed(Date.now() + this.slots.waitMs(receiver), token);
      throw new DelayedError();
    }
    try {
      return await this.attempt(job, token);
    } catch (error) {
      // The attempt's own outcomes (a receiver's ECONNREFUSED is not Redis's) go to BullMQ as they are.
      if (error instanceof WebhookAttemptError || error instanceof UnrecoverableError || error instanceof DelayedError) throw error;
      return await waitOutRedis(job, token, error, this.log);
    } finally {
      release();
    }
  }

  private async attempt(job: Job<WebhookJobData>, token: string | undefined): Promise<{ status: number }> {
    const { config, reader, metrics } = this.deps;
    const { jobId, url } = job.data;
    const attempt = job.attemptsMade + 1;
    // Retries send the view the first attempt read: the job itself may be gone by then (RESULT_TTL_S).
    let view = job.data.view ?? null;
    if (view === null) {
      view = await reader.read(jobId);
      if (view === null) {
        await this.giveUp(jobId, 'expired', job.attemptsMade, undefined, 'the job expired before its webhook could be sent');
        throw new UnrecoverableError(`job ${jobId} expired before its webhook could be sent`);
      }
      if (!isTerminal(view.status)) {
        // The reservation's safety net fired while the job is still running (or being retried): look again later.
        await job.moveToDelayed(Date.now() + config.WEBHOOK_RECHECK_MS, token);
        throw new DelayedError();
      }
    }
    const last = attempt >= (job.opts.attempts ?? 1);
    const body = JSON.stringify(view);
    const timestamp = new Date();
    const headers = {
      'webhook-id': jobId,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': this.signer.sign(jobId, timestamp, body),
    };
    const retry = { job, view, last };

    let answer: Answer;
    try {
      answer = await this.post(new URL(url), body, headers);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (/is not allowed\. Because/.test(message)) {
        metrics.webhookDeliveries.inc({ outcome: 'blocked' });
        await this.giveUp(jobId, 'blocked', attempt, undefined, `address not allowed: ${message}`);
        throw new UnrecoverableError(`webhook address not allowed: ${message}`);
      }
      return this.failed(retry, attempt, undefined, error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError') ? `no answer within ${config.WEBHOOK_TIMEOUT_MS} ms` : message, undefined);
    }

    if (answer.status >= 200 && answer.status < 300) {
      await this.record(jobId, 'delivered', attempt, answer.status, undefined);
      metrics.webhookDeliveries.inc({ outcome: 'delivered' });
      const finishedAt = view.timings.finishedAt === undefined ? undefined : Date.parse(view.timings.finishedAt);
      if (finishedAt !== undefined) metrics.webhookLatency.observe(Math.max(0, Date.now() - finishedAt) / 1000);
      return { status: answer.status };
    }
    if (answer.status === 410) {
      metrics.webhookDeliveries.inc({ outcome: 'failed' });
      await this.giveUp(jobId, 'gone', attempt, 410, 'receiver answered 410 Gone; not retried');
      throw new UnrecoverableError('receiver answered 410 Gone');
    }
    const reason = answer.status >= 300 && answer.status < 400 ? `receiver answered ${answer.status} (redirects are not followed)` : `receiver answered ${answer.status}`;
    return this.failed(retry, attempt, answer.status, reason, parseRetryAfter(answer.retryAfter));
  }

  /** A failed attempt: retried (the view it sent kept with the delivery for the next ones), or the last one. */
  private async failed(
    { job, view, last }: { job: Job<WebhookJobData>; view: JobView; last: boolean },
    attempt: number,
    status: number | undefined,
    reason: string,
    retryAfterMs: number | undefined,
  ): Promise<never> {
    const { jobId } = job.data;
    this.deps.metrics.webhookDeliveries.inc({ outcome: last ? 'failed' : 'retrying' });
    if (last) {
      await this.giveUp(jobId, 'attempts_exhausted', attempt, status, reason);
    } else {
      if (job.data.view === undefined) await job.updateData({ ...job.data, view });
      await this.record(jobId, 'retrying', attempt, status, reason);
      this.log.info({ jobId, attempt, status, err: reason }, 'webhook attempt failed; retrying');
    }
    throw new WebhookAttemptError(reason, retryAfterMs);
  }

  /** The delivery is over without success: recorded `failed` (the job view's `webhook`), counted and logged. */
  private async giveUp(jobId: string, why: WebhookFailureReason, attempts: number, status: number | undefined, error: string): Promise<void> {
    // Recorded first: a write Redis refuses puts the delivery back, and it must not be counted twice.
    await this.record(jobId, 'failed', attempts, status, error);
    this.deps.metrics.webhooksFailed.inc({ reason: why });
    this.log.warn({ jobId, attempts, status, reason: why, err: error }, 'webhook failed for good');
  }

  private async record(jobId: string, state: WebhookState, attempts: number, status: number | undefined, error: string | undefined): Promise<void> {
    const { redis, keys, config } = this.deps;
    const key = keys.webhookState(jobId);
    const fields: Record<string, string | number> = { state, attempts, lastStatus: status ?? '', lastError: error ?? '' };
    if (state === 'delivered') fields.deliveredAt = Date.now();
    await redis.multi().hset(key, fields).expire(key, config.RESULT_TTL_S).exec();
  }

  private post(url: URL, body: string, headers: Record<string, string>): Promise<Answer> {
    const secure = url.protocol === 'https:';
    const request = secure ? https.request : http.request;
    return new Promise<Answer>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          agent: secure ? this.agents.https : this.agents.http,
          signal: AbortSignal.timeout(this.deps.config.WEBHOOK_TIMEOUT_MS),
          headers: {
            ...headers,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'user-agent': USER_AGENT,
          },
        },
        (res) => {
          // The status is the answer; the body is read off (so the socket can be reused) but not
          // waited for: a receiver that stalls mid-body must not hold the delivery.
          res.on('error', () => undefined);
          res.resume();
          resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  async close(): Promise<void> {
    await this.worker.close();
    this.agents.http.destroy();
    this.agents.https.destroy();
    await closeRedis(this.connection);
  }
}
