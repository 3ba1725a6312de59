import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { SchedError } from '@sched/core';
import { sendProblem } from './problem.js';

/** Routes anyone may call: probes and the Prometheus scrape. */
const OPEN_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** Pages a browser opens, which can only send HTTP Basic (any user, the key as password). */
function isBrowserPage(path: string): boolean {
  return path === '/' || path === '/v1/fleet/stream' || path === '/admin/queues' || path.startsWith('/admin/queues/');
}

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

/**
 * API keys (API_KEYS): when configured, every route but the probes and /metrics needs one.
 * Keys are compared as SHA-256 digests with a constant-time comparison.
 */
export function apiKeyAuth(keys: readonly string[], onReject: () => void = () => undefined): RequestHandler {
  const known = keys.map(digest);
  return (req, res, next) => {
    if (known.length === 0 || OPEN_PATHS.has(req.path)) {
      next();
      return;
    }
    const key = presentedKey(req);
    const candidate = key === null ? null : digest(key);
    if (candidate !== null && known.some((k) => timingSafeEqual(k, candidate))) {
      // Idempotency keys are scoped per API key; the digest identifies it without keeping the key around.
      res.locals.apiKey = candidate.toString('hex');
      next();
      return;
    }
    onReject();
    const browser = isBrowserPage(req.path);
    res.setHeader('WWW-Authenticate', browser ? 'Basic realm="scheduler", charset="UTF-8"' : 'Bearer realm="scheduler"');
    sendProblem(
      res,
      new SchedError('unauthorized', browser ? 'sign in with any user name and an API key as the password' : 'send Authorization: Bearer <API key>'),
      req.originalUrl,
    );
  };
}
