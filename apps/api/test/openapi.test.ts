import express, { type Router } from 'express';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  fleetListSchema,
  healthSchema,
  jobAcceptedSchema,
  jobListSchema,
  jobViewSchema,
  modelCatalogSchema,
  parseCatalog,
  problemDetailsSchema,
  readinessSchema,
} from '@sched/core';
import { testConfig } from '@sched/testkit';
import { createApi, type Api } from '../src/index.js';
import { useApi } from './use-api.js';
import { DOCS_ASSETS } from '../src/docs-page.js';

/**
 * Route prefixes the document may leave out: mounted third-party UIs whose routes are theirs,
 * not this API's. Anything else Express answers must be in the document.
 */
const UNDOCUMENTED_PREFIXES: readonly string[] = [
  // Bull Board, a mounted Express sub-app: its pages, static files and JSON API. Its entry, GET /admin/queues, is documented.
  '/admin/queues',
];

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 50, p99Ms: 80 } } },
  workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }],
});

/** The part of an OpenAPI 3.1 document these tests read. */
interface Operation {
  operationId?: string;
  parameters?: { name: string; in: string; required?: boolean }[];
  security?: Record<string, string[]>[];
  responses: Record<string, { description?: string; headers?: Record<string, unknown>; content?: Record<string, unknown> }>;
}
interface Spec {
  openapi: string;
  info: { title: string; version: string };
  security?: Record<string, string[]>[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
}

/**
 * Express 5's router layers as router 2.x builds them (@types/express still describes the
 * Express 4 layer, which had `path` instead of `rawPath` and no `route.methods`).
 */
interface RouterLayer {
  rawPath?: string | RegExp | (string | RegExp)[];
  route?: { path: string | string[]; methods: Record<string, boolean | undefined> };
  handle: { stack?: RouterLayer[] };
}

interface Endpoint {
  /** Lower-case HTTP method, or `*` for a mounted middleware that answers a whole subtree. */
  method: string;
  /** OpenAPI template: Express `:id` becomes `{id}`. */
  path: string;
}

const joinPath = (prefix: string, path: string): string => {
  const joined = `${prefix}/${path}`.replace(/\/+/g, '/');
  return joined.length > 1 ? joined.replace(/\/$/, '') : joined;
};
const toTemplate = (path: string): string => path.replace(/:(\w+)/g, '{$1}');
const pathsOf = (raw: RouterLayer['rawPath'] | string[] | string): string[] =>
  (Array.isArray(raw) ? raw : [raw ?? '/']).map((p) => (typeof p === 'string' ? p : `<regexp ${String(p)}>`));

/** Every (method, path) the router answers, recursing into mounted routers. */
function endpointsOf(stack: readonly RouterLayer[], prefix = ''): Endpoint[] {
  const found: Endpoint[] = [];
  for (const layer of stack) {
    if (layer.route !== undefined) {
      // `_all` is the `.all(methodNotAllowed(...))` every route ends with, not an operation.
      const methods = Object.keys(layer.route.methods).filter((m) => m !== '_all' && layer.route?.methods[m] === true);
      for (const path of pathsOf(layer.route.path)) {
        for (const method of methods) found.push({ method, path: toTemplate(joinPath(prefix, path)) });
      }
    } else if (Array.isArray(layer.handle.stack)) {
      for (const path of pathsOf(layer.rawPath)) found.push(...endpointsOf(layer.handle.stack, joinPath(prefix, path)));
    } else {
      // Middleware mounted on a path (static files, a sub-app) answers for everything below it.
      for (const path of pathsOf(layer.rawPath)) if (path !== '/') found.push({ method: '*', path: toTemplate(joinPath(prefix, path)) });
    }
  }
  return found;
}

const routerEndpoints = (router: Router): Endpoint[] =>
  // The cast only swaps @types/express's Express 4 layer type for the one router 2.x really builds.
  endpointsOf(router.stack as unknown as RouterLayer[]);

const allowListed = (path: string): boolean => UNDOCUMENTED_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));

/** Endpoints the document lacks, outside the allow-list. */
const undocumented = (endpoints: readonly Endpoint[], spec: Spec): Endpoint[] =>
  endpoints.filter((e) => !allowListed(e.path) && spec.paths[e.path]?.[e.method] === undefined);

/** A validator of one component schema of the served document (OpenAPI 3.1 schemas are JSON Schema 2020-12). */
function specSchema(spec: Spec, name: string): z.ZodType {
  expect(spec.components.schemas[name], `components.schemas.${name}`).toBeDefined();
  const root = JSON.stringify({ $ref: `#/components/schemas/${name}`, $defs: spec.components.schemas });
  return z.fromJSONSchema(JSON.parse(root.replaceAll('"#/components/schemas/', '"#/$defs/')) as z.core.JSONSchema.JSONSchema);
}

/** Parses with the zod response schema and checks nothing was dropped (zod strips unknown keys). */
function expectExact(schema: z.ZodType, body: unknown): void {
  const parsed = schema.safeParse(body);
  expect(parsed.error?.issues ?? []).toEqual([]);
  expect(parsed.data).toEqual(body);
}

const ctx = useApi(fleet);
let api: Api;
let base: string;
let spec: Spec;

beforeAll(async () => {
  api = ctx.cluster.api;
  base = ctx.cluster.apiUrl;
  const res = await fetch(`${base}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  spec = (await res.json()) as Spec;
});

describe('route coverage', () => {
  it('documents every route Express answers, with its method', () => {
    const endpoints = routerEndpoints(api.app.router);
    // The walk really sees the API: its routes in nested routers, parameters converted, and Bull Board
    // (a mounted sub-app, opaque to the walk, hence in the allow-list).
    expect(endpoints).toContainEqual({ method: 'post', path: '/v1/jobs' });
    expect(endpoints).toContainEqual({ method: 'delete', path: '/v1/jobs/{id}' });
    expect(endpoints).toContainEqual({ method: 'get', path: '/docs/assets/{file}' });
    expect(endpoints).toContainEqual({ method: '*', path: '/admin/queues' });
    expect(undocumented(endpoints, spec)).toEqual([]);
  });

  it('documents no operation that Express does not answer', () => {
    const answered = new Set(routerEndpoints(api.app.router).map((e) => `${e.method} ${e.path}`));
    const operations = Object.entries(spec.paths).flatMap(([path, item]) => Object.keys(item).map((method) => ({ method, path })));
    expect(operations.length).toBeGreaterThanOrEqual(16);
    expect(operations.filter((o) => !allowListed(o.path) && !answered.has(`${o.method} ${o.path}`))).toEqual([]);
  });

  it('catches a route the document lacks, nested routers and mounted middleware included', () => {
    const app = express();
    const nested = express.Router();
    nested.route('/v1/things/:thingId').get((_req, res) => void res.end()).all((_req, res) => void res.end());
    app.use('/v2', nested);
    app.post('/v1/jobs', (_req, res) => void res.end());
    app.use('/static', express.static('.'));
    expect(undocumented(routerEndpoints(app.router), spec)).toEqual([
      { method: 'get', path: '/v2/v1/things/{thingId}' },
      { method: '*', path: '/static' },
    ]);
  });
});

describe('the document', () => {
  it('is OpenAPI 3.1 with responses on every operation and every $ref resolving', () => {
    expect(spec.openapi).toMatch(/^3\.1\.\d+$/);
    expect(spec.info.title.length).toBeGreaterThan(0);
    expect(spec.info.version).toMatch(/^\d+\.\d+\.\d+/);
    const operationIds = new Set<string>();
    for (const [path, item] of Object.entries(spec.paths)) {
      expect(path).toMatch(/^\//);
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      for (const [method, operation] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(['get', 'post', 'delete'], where).toContain(method);
        expect(Object.keys(operation.responses).length, where).toBeGreaterThan(0);
        expect(operation.operationId, where).toBeDefined();
        expect(operationIds.has(operation.operationId ?? ''), `${where} operationId is unique`).toBe(false);
        operationIds.add(operation.operationId ?? '');
        const pathParams = (operation.parameters ?? []).filter((p) => p.in === 'path');
        expect(pathParams.map((p) => p.name).sort(), where).toEqual(templated);
        expect(pathParams.every((p) => p.required === true), where).toBe(true);
        for (const [status, response] of Object.entries(operation.responses)) {
          expect(response.description, `${where} ${status}`).toBeTruthy();
          if (Number(status) >= 400) expect(Object.keys(response.content ?? {}), `${where} ${status}`).toEqual(['application/problem+json']);
        }
        for (const requirement of operation.security ?? spec.security ?? []) {
          for (const scheme of Object.keys(requirement)) expect(spec.components.securitySchemes).toHaveProperty(scheme);
        }
      }
    }
    const refs: string[] = [];
    const collect = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(collect);
      else if (typeof node === 'object' && node !== null) {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref' && typeof value === 'string') refs.push(value);
          else collect(value);
        }
      }
    };
    collect(spec);
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) {
      expect(ref, ref).toMatch(/^#\//);
      let target: unknown = spec;
      for (const segment of ref.slice(2).split('/')) {
        const key = segment.replace(/~1/g, '/').replace(/~0/g, '~');
        target = typeof target === 'object' && target !== null ? (target as Record<string, unknown>)[key] : undefined;
      }
      expect(target, ref).toBeDefined();
    }
  });

  it('describes the headers, the key, SSE, pages and metrics with their media types', () => {
    const params = (path: string, method: string): string[] => (spec.paths[path]?.[method]?.parameters ?? []).map((p) => `${p.in}:${p.name}`);
    expect(params('/v1/jobs', 'post')).toEqual(expect.arrayContaining(['header:Idempotency-Key', 'header:Prefer']));
    expect(params('/v1/jobs/{id}/events', 'get')).toContain('header:Last-Event-ID');
    expect(params('/v1/jobs/{id}', 'get')).toContain('query:wait');
    expect(params('/v1/jobs', 'get')).toEqual(expect.arrayContaining(['query:status', 'query:model', 'query:limit', 'query:cursor']));
    expect(spec.components.securitySchemes).toMatchObject({ apiKey: { type: 'http', scheme: 'bearer' }, browserBasic: { type: 'http', scheme: 'basic' } });
    expect(spec.security).toEqual([{ apiKey: [] }]);
    const mediaTypes = (path: string): string[] => Object.keys(spec.paths[path]?.get?.responses['200']?.content ?? {});
    expect(mediaTypes('/v1/jobs/{id}/events')).toEqual(['text/event-stream']);
    expect(mediaTypes('/v1/fleet/stream')).toEqual(['text/event-stream']);
    expect(mediaTypes('/')).toEqual(['text/html']);
    expect(mediaTypes('/docs')).toEqual(['text/html']);
    expect(mediaTypes('/metrics')).toEqual(['text/plain']);
    expect(spec.paths['/healthz']?.get?.security).toEqual([]);
    expect(spec.paths['/']?.get?.security).toEqual([{ browserBasic: [] }, { apiKey: [] }]);
    // 200: the job ended within `Prefer: wait`.
    expect(Object.keys(spec.paths['/v1/jobs']?.post?.responses ?? {})).toEqual(['200', '202', '400', '401', '409', '413', '415', '422', '429', '500', '503']);
    const submitted = spec.paths['/v1/jobs']?.post?.responses ?? {};
    expect(Object.keys(submitted['200']?.headers ?? {})).toEqual(['Content-Location', 'Preference-Applied', 'Vary']);
    expect(Object.keys(submitted['202']?.headers ?? {})).toEqual(['Location', 'Preference-Applied', 'Vary']);
    expect(submitted['200']?.content?.['application/json']).toEqual({ schema: { $ref: '#/components/schemas/JobView' } });
  });
});

describe('the route table', () => {
  /**
   * What the document promised before the table existed (method, path, operationId and response
   * statuses), and what it added since: submitJob's 200, the answer to `Prefer: wait`, and its 409,
   * `idempotency_in_progress`; a tenant's own data (cancelJob's purge: 204, and its query's 400;
   * retryJob; getUsage); admission control's 429 on every route behind a key.
   */
  const OPERATIONS = [
    'post /v1/jobs submitJob 200 202 400 401 409 413 415 422 429 500 503',
    'get /v1/jobs listJobs 200 400 401 429 500 503',
    'post /v1/jobs/batch submitJobBatch 200 400 401 413 415 429 500 503',
    'post /v1/jobs/wait waitForJobs 200 400 401 413 415 429 500 503',
    'get /v1/jobs/{id} getJob 200 400 401 404 429 500 503',
    'delete /v1/jobs/{id} cancelJob 200 204 400 401 404 409 429 500 503',
    'get /v1/jobs/{id}/events streamJobEvents 200 401 404 429 500 503',
    'post /v1/jobs/{id}/retry retryJob 200 202 401 404 409 422 429 500 503',
    'get /v1/usage getUsage 200 401 429 500 503',
    'get /v1/fleet getFleet 200 401 429 500 503',
    'get /v1/fleet/stream streamFleet 200 401 500',
    'get /v1/models listModels 200 401 429 500',
    'get /healthz getHealth 200 500',
    'get /readyz getReadiness 200 500 503',
    'get /metrics getMetrics 200 500',
    'get / getFleetPage 200 401 500',
    'get /admin/queues getQueueBoard 200 401 500',
    'get /openapi.json getOpenApiDocument 200 500',
    'get /docs getDocsPage 200 500',
    'get /docs/assets/{file} getDocsAsset 200 404 500',
  ];
  const COMPONENTS = [
    'FieldError', 'FleetList', 'FleetSnapshot', 'FleetWorker', 'Health', 'JobAccepted', 'JobBatchAccepted', 'JobBatchEnded',
    'JobBatchRefused', 'JobBatchRequest', 'JobBatchResult', 'JobError', 'JobList', 'JobRequest', 'JobResult', 'JobTimings',
    'JobView', 'JobWaitRequest', 'JobWaitResult', 'ModelCatalog', 'ProblemDetails', 'Readiness', 'RecentSummary', 'TenantUsage', 'UsageList',
    'WebhookView',
  ];

  it('documents every operation, response and component the API has always had', () => {
    const operations = Object.entries(spec.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => [method, path, op.operationId, ...Object.keys(op.responses)].join(' ')),
    );
    expect(operations).toEqual(OPERATIONS);
    expect(Object.keys(spec.components.schemas)).toEqual(COMPONENTS);
  });

  it('answers a method a path does not have with 405 and exactly the documented methods in Allow', async () => {
    const example: Record<string, string> = { id: '5f0c7a56-6a4c-4d0e-9d5e-2d1a3b4c5d6e', file: 'swagger-ui.css' };
    for (const [path, item] of Object.entries(spec.paths)) {
      const methods = Object.keys(item).map((m) => m.toUpperCase());
      const expected = ['GET', 'HEAD', 'POST', 'DELETE'].filter((m) => methods.includes(m) || (m === 'HEAD' && methods.includes('GET')));
      const res = await fetch(`${base}${path.replace(/\{(\w+)\}/g, (_, name: string) => example[name] ?? name)}`, { method: 'PUT' });
      expect(res.status, path).toBe(405);
      expect(res.headers.get('allow'), path).toBe(expected.join(', '));
      expect(res.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
    }
  });
});

describe('real traffic matches the document', () => {
  it('a body the API accepts validates against the request schema, and one it refuses does not', async () => {
    const body = {
      model: 'default',
      input: { prompt: 'hello', n: [1, 2] },
      priority: 'high',
      deadlineMs: 60_000,
      size: { inputTokens: 12, outputTokens: 34 },
      metadata: { team: 'search', n: 1, ok: true, none: null },
    };
    const res = await fetch(`${base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(202);
    const accepted: unknown = await res.json();
    const request = specSchema(spec, 'JobRequest');
    expect(request.safeParse(body).success).toBe(true);
    expect(specSchema(spec, 'JobAccepted').safeParse(accepted).success).toBe(true);
    expectExact(jobAcceptedSchema, accepted);

    const refused = { model: 'default', input: 1, priority: 'urgent' };
    const refusal = await fetch(`${base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(refused) });
    expect(refusal.status).toBe(400);
    expect(request.safeParse(refused).success).toBe(false);
    expect(request.safeParse({ model: 'default' }).success).toBe(false);
    const problem: unknown = await refusal.json();
    expect(specSchema(spec, 'ProblemDetails').safeParse(problem).success).toBe(true);
    expectExact(problemDetailsSchema, problem);
  });

  it('GET /v1/jobs/:id, DELETE and the listing answer exactly the documented JobView', async () => {
    const submitted = await fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'default', input: 'x', deadlineMs: 600_000, metadata: { k: 'v' } }),
    });
    const { id } = (await submitted.json()) as { id: string };
    const specJobView = specSchema(spec, 'JobView');

    const read: unknown = await (await fetch(`${base}/v1/jobs/${id}`)).json();
    expect(read).toMatchObject({ id, status: 'queued', metadata: { k: 'v' }, deadlineMs: 600_000 });
    expectExact(jobViewSchema, read);
    expect(specJobView.safeParse(read).success).toBe(true);

    const listed: unknown = await (await fetch(`${base}/v1/jobs?limit=1`)).json();
    expectExact(jobListSchema, listed);
    expect(specSchema(spec, 'JobList').safeParse(listed).success).toBe(true);

    const cancelled = await fetch(`${base}/v1/jobs/${id}`, { method: 'DELETE' });
    expect(cancelled.status).toBe(200);
    const view: unknown = await cancelled.json();
    expect(view).toMatchObject({ id, status: 'cancelled' });
    expectExact(jobViewSchema, view);
    expect(specJobView.safeParse(view).success).toBe(true);
  });

  it('the fleet, models and probes answer their documented schemas', async () => {
    const cases: [string, z.ZodType, string][] = [
      ['/v1/fleet', fleetListSchema, 'FleetList'],
      ['/v1/models', modelCatalogSchema, 'ModelCatalog'],
      ['/healthz', healthSchema, 'Health'],
      ['/readyz', readinessSchema, 'Readiness'],
    ];
    for (const [path, schema, name] of cases) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(200);
      const body: unknown = await res.json();
      expectExact(schema, body);
      expect(specSchema(spec, name).safeParse(body).success, path).toBe(true);
    }
  });
});

describe('/docs', () => {
  it('serves the Swagger UI page and every file it loads from the API itself', async () => {
    const res = await fetch(`${base}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain("url: '/openapi.json'");
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const loaded = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(loaded.sort()).toEqual(Object.keys(DOCS_ASSETS).map((file) => `/docs/assets/${file}`).sort());
    const expected: Record<string, RegExp> = { css: /^text\/css/, js: /^text\/javascript/, png: /^image\/png/ };
    for (const path of loaded) {
      const asset = await fetch(`${base}${path}`);
      expect(asset.status, path).toBe(200);
      expect(asset.headers.get('content-type'), path).toMatch(expected[path.split('.').pop() ?? ''] ?? /^$/);
      expect((await asset.arrayBuffer()).byteLength, path).toBeGreaterThan(100);
    }
  });

  it('answers problem+json for an unknown file and for a method it does not allow', async () => {
    const missing = await fetch(`${base}/docs/assets/package.json`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    for (const path of ['/docs', '/openapi.json', '/docs/assets/swagger-ui.css']) {
      const res = await fetch(`${base}${path}`, { method: 'POST' });
      expect(res.status, path).toBe(405);
      expect(res.headers.get('allow'), path).toBe('GET, HEAD');
      expect(res.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
    }
  });

  it('stays open when API keys are configured, like the probes', async () => {
    const keyed = await createApi(testConfig(ctx.redisUrl, { API_KEYS: 'k-0123456789abcdef' }), { fleet });
    try {
      const keyedBase = `http://127.0.0.1:${await keyed.listen()}`;
      for (const path of ['/openapi.json', '/docs', '/docs/assets/swagger-ui.css']) expect((await fetch(`${keyedBase}${path}`)).status, path).toBe(200);
      expect((await fetch(`${keyedBase}/v1/models`)).status).toBe(401);
    } finally {
      await keyed.close();
    }
  });
});
