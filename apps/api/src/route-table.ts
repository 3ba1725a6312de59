import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Router } from 'express';
import type { z } from 'zod';
import { SchedError, describeFieldErrors, fieldErrorsOf, type FieldError, type SchedErrorCode } from '@sched/core';
import type { ApiRoute, RouteAccess } from './api-route.js';
import type { KeyCheck } from './api-keys.js';
import { methodNotAllowed, toProblem } from './problem.js';

export interface RouteTableOptions {
  /** The key check of each kind of route (see apiKeyCheck). */
  keyCheck: KeyCheck;
  /** The largest JSON body of a route that sets no `maxBodyBytes` of its own, in bytes (MAX_BODY_BYTES). */
  maxBodyBytes: number;
  /** Runs after the key check of every `key` route (the per-key request rate); it may answer 429 `rate_limited`. */
  limiter?: RequestHandler;
}

const JSON_TYPES = ['application/json', 'application/*+json'];
const BODY_CODES: readonly SchedErrorCode[] = ['invalid_json', 'validation_failed', 'payload_too_large', 'unsupported_media_type'];
/** The order of an `Allow` list. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'DELETE'];

/**
 * The routes as one Express router: per path, each method behind its key check, (for a body)
 * the JSON parser, then its handler with the request validated against its schemas; any other
 * method answers 405 with the `Allow` list of the methods the table has for that path.
 */
export function routeTable(routes: readonly ApiRoute[], options: RouteTableOptions): Router {
  const router = express.Router();
  for (const [path, group] of byPath(routes)) {
    const access = accessOf(path, group);
    const keyCheck = options.keyCheck(access);
    const door = access === 'key' && options.limiter !== undefined ? [keyCheck, options.limiter] : [keyCheck];
    const route = router.route(path);
    for (const entry of group) {
      const undeclared = doorCodes(entry).filter((code) => !entry.errors.includes(code));
      if (undeclared.length > 0) throw new Error(`route ${entry.operationId} can answer ${undeclared.join(', ')} but does not declare it`);
      const handlers: (RequestHandler | ErrorRequestHandler)[] = [...door, ...bodyParsers(entry, options.maxBodyBytes), validated(entry)];
      if (entry.onProblem !== undefined) handlers.push(problemsOf(entry));
      route[entry.method](...handlers);
    }
    route.all(keyCheck, methodNotAllowed(allowList(group)));
  }
  return router;
}

function byPath(routes: readonly ApiRoute[]): Map<string, ApiRoute[]> {
  const groups = new Map<string, ApiRoute[]>();
  for (const route of routes) {
    const group = groups.get(route.path) ?? [];
    if (group.some((other) => other.method === route.method)) throw new Error(`two routes for ${route.method.toUpperCase()} ${route.path}`);
    groups.set(route.path, [...group, route]);
  }
  return groups;
}

/** One key check per path, so a method the path does not have is refused the same way as one it has. */
function accessOf(path: string, group: readonly ApiRoute[]): RouteAccess {
  const kinds = new Set(group.map((route) => route.access ?? 'key'));
  const [access] = kinds;
  if (access === undefined || kinds.size > 1) throw new Error(`the routes at ${path} must share one access, not ${[...kinds].join(' and ')}`);
  return access;
}

/** Codes the table itself may answer for this route, before its handler runs. */
function doorCodes(route: ApiRoute): SchedErrorCode[] {
  return [
    ...((route.access ?? 'key') === 'public' ? [] : (['unauthorized'] as const)),
    ...((route.access ?? 'key') === 'key' ? (['rate_limited'] as const) : []),
    ...(route.request?.query === undefined ? [] : (['invalid_query'] as const)),
    ...(route.request?.body === undefined ? [] : BODY_CODES),
  ];
}

function allowList(group: readonly ApiRoute[]): string[] {
  const methods = new Set(group.flatMap((route) => (route.method === 'get' ? ['GET', 'HEAD'] : [route.method.toUpperCase()])));
  return METHOD_ORDER.filter((method) => methods.has(method));
}

const requireJson: RequestHandler = (req, _res, next) => {
  if (!req.is(JSON_TYPES)) {
    next(new SchedError('unsupported_media_type', `Content-Type must be application/json, got ${req.get('content-type') ?? 'none'}`));
    return;
  }
  next();
};

function bodyParsers(route: ApiRoute, limit: number): RequestHandler[] {
  return route.request?.body === undefined ? [] : [requireJson, express.json({ limit: route.maxBodyBytes ?? limit, type: JSON_TYPES })];
}

/** The handler, given each declared part of the request parsed by its schema (validated once, here). */
function validated(route: ApiRoute): RequestHandler {
  const request = route.request ?? {};
  const notFound = (req: Request): SchedError =>
    route.notFound?.(req.params) ?? new SchedError('route_not_found', `no route ${req.method} ${req.path}`);
  const invalid = (code: 'invalid_query' | 'validation_failed') => (fieldErrors: FieldError[]) =>
    new SchedError(code, describeFieldErrors(fieldErrors), { fieldErrors });
  return async (req, res, next) => {
    const input = {
      params: parsePart(request.params, req.params, () => notFound(req)),
      headers: parsePart(request.headers, request.headers === undefined ? undefined : headersOf(req, request.headers), invalid('validation_failed')),
      query: parsePart(request.query, req.query, invalid('invalid_query')),
      body: parsePart(request.body, req.body, invalid('validation_failed')),
    };
    await route.handle(input, req, res, next);
  };
}

function parsePart<S extends z.ZodType>(schema: S | undefined, value: unknown, fail: (fieldErrors: FieldError[]) => SchedError): z.output<S> | undefined {
  if (schema === undefined) return undefined;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw fail(fieldErrorsOf(parsed.error));
  return parsed.data;
}

/** The declared headers by their documented names (HTTP header names are case-insensitive). */
function headersOf(req: Request, schema: z.ZodObject): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const value = req.get(name);
    if (value !== undefined) headers[name] = value;
  }
  return headers;
}

/** Shows the route every problem it answers (its door's included), then passes the error on. */
function problemsOf(route: ApiRoute): ErrorRequestHandler {
  return (error: unknown, req, _res, next) => {
    route.onProblem?.(toProblem(error, req));
    next(error);
  };
}
