import type { Request, RequestHandler, Response } from 'express';
import { ANONYMOUS_TENANT, SchedError, apiKeyDigest, type Tenant, type TenantDirectory } from '@sched/core';
import type { RouteAccess } from './api-route.js';
import { sendProblem } from './problem.js';

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

/**
 * API keys (API_KEYS, API_KEYS_FILE, ADMIN_API_KEYS; see loadTenants): when any is configured,
 * every route that is not `public` needs one, and the request's tenant is the key's. Keys are
 * looked up by SHA-256 digest, so the lookup's timing says nothing about a key. Without keys every
 * request is the anonymous tenant. Either way `res.locals.tenant` is set before any handler runs.
 */
export function apiKeyCheck(directory: Pick<TenantDirectory, 'enabled' | 'byDigest'>, onReject: () => void = () => undefined): KeyCheck {
  const anonymous: RequestHandler = (_req, res, next) => {
    res.locals.tenant = ANONYMOUS_TENANT;
    next();
  };
  return (access) => {
    if (!directory.enabled || access === 'public') return anonymous;
    const browser = access === 'browser';
    return (req, res, next) => {
      const key = presentedKey(req);
      const tenant = key === null ? undefined : directory.byDigest(apiKeyDigest(key));
      if (tenant !== undefined) {
        res.locals.tenant = tenant;
        // Idempotency keys are scoped per API key; the digest identifies it without keeping the key around.
        res.locals.apiKey = tenant.id;
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

/** The tenant the key check put on the request; a route reached without one is a wiring fault. */
export function tenantOf(res: Response): Tenant {
  const tenant = res.locals.tenant as Tenant | undefined;
  if (tenant === undefined) throw new Error('no tenant on the request: the route is not behind the key check');
  return tenant;
}
