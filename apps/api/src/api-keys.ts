import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { SchedError } from '@sched/core';
import type { RouteAccess } from './api-route.js';
import { sendProblem } from './problem.js';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** The key a request carries: `Authorization: Bearer <key>` or Basic with the key as password. */
function presentedKey(req: Request): string | null {
  const header = req.get('authorization') ?? '';
  const [scheme, value] = header.split(' ', 2);
  if (value === undefined) return null;
  if (scheme?.toLowerCase() === 'bearer') return value.trim();
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon === -1 ? null : decoded.slice(colon + 1);
  }
  return null;
}

/** The key check of one kind of route (see RouteAccess). */
export type KeyCheck = (access: RouteAccess) => RequestHandler;

const admit: RequestHandler = (_req, _res, next) => next();

/**
 * API keys (API_KEYS): when configured, every route that is not `public` needs one.
 * Keys are compared as SHA-256 digests with a constant-time comparison.
 */
export function apiKeyCheck(keys: readonly string[], onReject: () => void = () => undefined): KeyCheck {
  const known = keys.map(digest);
  return (access) => {
    if (known.length === 0 || access === 'public') return admit;
    const browser = access === 'browser';
    return (req, res, next) => {
      const key = presentedKey(req);
      const candidate = key === null ? null : digest(key);
      if (candidate !== null && known.some((k) => timingSafeEqual(k, candidate))) {
        // Idempotency keys are scoped per API key; the digest identifies it without keeping the key around.
        res.locals.apiKey = candidate.toString('hex');
        next();
        return;
      }
      onReject();
      res.setHeader('WWW-Authenticate', browser ? 'Basic realm="scheduler", charset="UTF-8"' : 'Bearer realm="scheduler"');
      sendProblem(
        res,
        new SchedError('unauthorized', browser ? 'sign in with any user name and an API key as the password' : 'send Authorization: Bearer <API key>'),
        req.originalUrl,
      );
    };
  };
}
