import type { RequestHandler } from 'express';
import type { Config } from '@sched/core';

const ALLOWED_METHODS = 'GET, HEAD, POST, DELETE';
const ALLOWED_HEADERS = 'Authorization, Content-Type, Content-Encoding, Idempotency-Key, Prefer, Last-Event-ID';
const EXPOSED_HEADERS = 'Location, Content-Location, Retry-After, Preference-Applied, RateLimit, RateLimit-Policy';
/** Browsers cache a preflight answer this long (seconds). */
const PREFLIGHT_MAX_AGE_S = 600;

/**
 * Cross-origin access for the origins in CORS_ORIGINS, and none by default: without an allow-list
 * the API sends no CORS header, so a page on another origin cannot read its answers. A listed
 * origin (or any, with `*`) gets its preflight answered (204) and `Access-Control-Allow-Origin` on
 * every answer. Credentials (cookies) are never allowed: the API authenticates with a header.
 */
export function corsPolicy(config: Pick<Config, 'CORS_ORIGINS'>): RequestHandler | null {
  if (config.CORS_ORIGINS.length === 0) return null;
  const anyOrigin = config.CORS_ORIGINS.includes('*');
  const allowed = new Set(config.CORS_ORIGINS);
  return (req, res, next) => {
    const origin = req.get('origin');
    if (!anyOrigin) res.vary('Origin');
    if (origin === undefined || (!anyOrigin && !allowed.has(origin))) {
      next();
      return;
    }
    res.setHeader('Access-Control-Allow-Origin', anyOrigin ? '*' : origin);
    res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    if (req.method === 'OPTIONS' && req.get('access-control-request-method') !== undefined) {
      res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
      res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      res.setHeader('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_S));
      res.status(204).end();
      return;
    }
    next();
  };
}
