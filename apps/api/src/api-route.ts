import type { ResponseConfig } from '@asteasolutions/zod-to-openapi';
import type { NextFunction, Request, Response } from 'express';
import type { z } from 'zod';
import type { SchedError, SchedErrorCode } from '@sched/core';

export type HttpMethod = 'get' | 'post' | 'delete';

/**
 * Who may call a route when the server has API keys: `key` needs `Authorization: Bearer <key>`;
 * `browser` is a page a browser opens, which can only send HTTP Basic (any user, the key as
 * password), so it is challenged with Basic; `public` is always open.
 */
export type RouteAccess = 'key' | 'browser' | 'public';

export type RouteTag = 'jobs' | 'fleet' | 'operations' | 'pages';

/** The parts of a request a route validates, each a zod schema. */
export interface RouteRequest {
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** Keys are header names as documented (`Idempotency-Key`); values are read case-insensitively. */
  headers?: z.ZodObject;
  /** A JSON body (`application/json` or `application/*+json`). */
  body?: z.ZodType;
}

type Parsed<T> = T extends z.ZodType ? z.output<T> : undefined;

/** What a handler receives: each declared part, parsed; an undeclared part is `undefined`. */
export interface RouteInput<R extends RouteRequest> {
  params: Parsed<R['params']>;
  query: Parsed<R['query']>;
  headers: Parsed<R['headers']>;
  body: Parsed<R['body']>;
}

/**
 * One entry of the API's route table: from it the route is mounted, its input validated, its
 * `Allow` list derived, its key checked and its OpenAPI operation written (route-table.ts,
 * openapi.ts).
 */
export interface ApiRoute<R extends RouteRequest = RouteRequest> {
  method: HttpMethod;
  /** Express path (`/v1/jobs/:id`); the document writes `/v1/jobs/{id}`. */
  path: string;
  operationId: string;
  tag: RouteTag;
  summary: string;
  description?: string;
  /** @defaultValue `'key'` */
  access?: RouteAccess;
  request?: R;
  /**
   * The largest JSON body this route takes, in bytes (a batch takes more than one job).
   * @defaultValue the table's `maxBodyBytes` (MAX_BODY_BYTES)
   */
  maxBodyBytes?: number;
  /** The answers that are not problems, by status. */
  responses: Record<number, ResponseConfig>;
  /**
   * Every error code the route answers, in the order the document lists them: its handler's, and
   * those of its door: `unauthorized` unless public; `rate_limited` for a `key` route; `invalid_query` with a query; `invalid_json`,
   * `validation_failed`, `payload_too_large`, `unsupported_media_type` with a body (the table
   * refuses a route that leaves one of these out); `validation_failed` with headers that can be
   * refused; the `notFound` code with params. `internal` is implied.
   */
  errors: readonly SchedErrorCode[];
  /**
   * The answer when the path parameters do not validate (an id the server never makes names no resource).
   * @defaultValue 404 `route_not_found`
   */
  notFound?(params: Request['params']): SchedError;
  /** Sees every problem the route answers after its key check (e.g. to count refused submissions). */
  onProblem?(error: SchedError): void;
  handle(input: RouteInput<R>, req: Request, res: Response, next: NextFunction): Promise<void> | void;
}

/** Types a route's handler from its request schemas. */
export function defineRoute<R extends RouteRequest = Record<never, never>>(route: ApiRoute<R>): ApiRoute {
  return route;
}

export const jsonResponse = (description: string, schema: z.ZodType): ResponseConfig => ({ description, content: { 'application/json': { schema } } });

export const textResponse = (mediaType: string, description: string): ResponseConfig => ({
  description,
  content: { [mediaType]: { schema: { type: 'string' } } },
});
