import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { rateLimit } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { SchedError, type KeySpace } from '@sched/core';
import { tenantOf } from './api-keys.js';
import { callerOf, type CallerDefaults } from './caller.js';

/** The rate is counted in fixed windows this long: a key may send its whole per-second rate in a burst. */
const WINDOW_MS = 1000;

export interface RateLimitOptions {
  /** The API's plain connection; the counters are one script call (EVALSHA) per request. */
  readonly redis: Pick<Redis, 'call'>;
  readonly keys: Pick<KeySpace, 'rateLimitPrefix'>;
  readonly defaults: CallerDefaults;
}

/**
 * Per-key request rate for every keyed route: `express-rate-limit` with its Redis store, so the
 * count holds across API replicas. A key's rate is its own (API_KEYS_FILE) or RATE_LIMIT_PER_S;
 * 0 skips the limiter (no Redis command). Over it: 429 `rate_limited`, passed on as an error (so the
 * route counts it, e.g. in `sched_jobs_rejected_total`, and it is answered as problem+json with
 * `Retry-After`), and the IETF `RateLimit`/`RateLimit-Policy` headers (draft 8) on every answer.
 *
 * When the store cannot be reached the request passes (`passOnStoreError`): with Redis down every
 * route that needs it answers 503 anyway, and a limiter that refused everything would turn a
 * Redis blip into an outage of the routes that do not.
 */
export function requestRateLimit(options: RateLimitOptions): RequestHandler {
  const { redis, keys, defaults } = options;
  const store = new RedisStore({
    prefix: keys.rateLimitPrefix,
    sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<RedisReply>,
  });
  return rateLimit({
    windowMs: WINDOW_MS,
    limit: (_req, res) => callerOf(res, defaults).ratePerS,
    skip: (_req, res) => callerOf(res, defaults).ratePerS === 0,
    keyGenerator: (_req, res) => tenantOf(res).id,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    passOnStoreError: true,
    store,
    // Our key generator never uses the client's address, so the IP checks do not apply.
    validate: { ip: false, keyGeneratorIpFallback: false, trustProxy: false, xForwardedForHeader: false },
    handler: (req, _res, next) => {
      const info = (req as { rateLimit?: { limit: number; resetTime?: Date } }).rateLimit;
      const retryAfterS = Math.max(1, Math.ceil(((info?.resetTime?.getTime() ?? Date.now() + WINDOW_MS) - Date.now()) / 1000));
      next(new SchedError('rate_limited', `this API key may send ${info?.limit ?? '?'} requests per second; retry after ${retryAfterS} s`, { retryAfterS }));
    },
  }) as RequestHandler;
}
