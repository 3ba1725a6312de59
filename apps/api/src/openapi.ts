import { readFileSync } from 'node:fs';
import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { z } from 'zod';
import {
  ERROR_TABLE,
  fleetStatusSchema,
  jobRequestBodySchema,
  problemDetailsSchema,
  type Equals,
  type Catalog,
  type SchedErrorCode,
  type modelCatalogSchema,
  type workerStatusSchema,
  type recentSummarySchema,
} from '@sched/core';
import type { ApiRoute, RouteAccess } from './api-route.js';
import type { WorkerStatus } from './fleet-routes.js';
import type { RecentSummary } from './recent-completions.js';

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

type Expect<T extends true> = T;
/** The API's own response types (they live here, not in libs/core) against their schemas. */
type _SchemasMatchApiTypes = [
  Expect<Equals<z.infer<typeof workerStatusSchema>, WorkerStatus>>,
  Expect<Equals<z.infer<typeof recentSummarySchema>, RecentSummary>>,
  Expect<Equals<z.infer<typeof modelCatalogSchema>['models'][number]['classes'], Catalog['models'][string]>>,
];

const BEARER = 'apiKey';
const BASIC = 'browserBasic';
/** Each access as the operation's `security`; a `key` route has the document's default (Bearer). */
const SECURITY: Record<RouteAccess, RouteConfig['security']> = {
  key: undefined,
  public: [],
  // Browser pages: Basic (any user, the key as password); Bearer works there too.
  browser: [{ [BASIC]: [] }, { [BEARER]: [] }],
};

const RETRY_AFTER: ResponseConfig['headers'] = { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } } };
const WWW_AUTHENTICATE: ResponseConfig['headers'] = {
  'WWW-Authenticate': { description: '`Bearer realm="scheduler"`, or `Basic realm="scheduler"` on browser pages', schema: { type: 'string' } },
};
const problemHeaders = (status: number): ResponseConfig['headers'] =>
  status === 429 || status === 503 ? RETRY_AFTER : status === 401 ? WWW_AUTHENTICATE : undefined;

/**
 * One response per HTTP status the route's codes map to in ERROR_TABLE, each `application/problem+json`;
 * every route can also answer 500 `internal` (problemHandler).
 */
function problems(...codes: SchedErrorCode[]): Record<string, ResponseConfig> {
  const byStatus = new Map<number, SchedErrorCode[]>();
  for (const code of [...codes, 'internal' as const]) {
    const { status } = ERROR_TABLE[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, ResponseConfig> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const headers = problemHeaders(status);
    responses[String(status)] = {
      description: list.map((code) => `\`${code}\`: ${ERROR_TABLE[code].title}`).join('; '),
      ...(headers === undefined ? {} : { headers }),
      content: { 'application/problem+json': { schema: problemDetailsSchema } },
    };
  }
  return responses;
}

const DESCRIPTION = `Submits inference jobs, reads their status, streams their changes, and shows the fleet.

- **Errors** are \`application/problem+json\` (RFC 9457) with a stable \`code\` and \`type: urn:sched:problem:<code>\`; validation errors list each field in \`errors\`. \`429\`/\`503\` carry \`Retry-After\`.
- Any method a path does not list answers \`405\` \`method_not_allowed\` with an \`Allow\` header; an unknown path \`404\` \`route_not_found\`.
- **API keys** (when the server sets \`API_KEYS\`): \`Authorization: Bearer <key>\`, or HTTP Basic with the key as password (browser pages). Without \`API_KEYS\` no key is needed. \`/healthz\`, \`/readyz\`, \`/metrics\`, \`/openapi.json\` and \`/docs\` are always open.`;

function apiVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The operation of one entry of the route table. */
function operationOf(route: ApiRoute): RouteConfig {
  const { params, query, headers, body } = route.request ?? {};
  const security = SECURITY[route.access ?? 'key'];
  return {
    method: route.method,
    path: route.path.replace(/:(\w+)/g, '{$1}'),
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    ...(route.description === undefined ? {} : { description: route.description }),
    ...(security === undefined ? {} : { security }),
    request: {
      ...(params === undefined ? {} : { params }),
      ...(query === undefined ? {} : { query }),
      ...(headers === undefined ? {} : { headers }),
      ...(body === undefined ? {} : { body: { required: true, content: { 'application/json': { schema: body } } } }),
    },
    responses: { ...route.responses, ...problems(...route.errors) },
  };
}

/** The OpenAPI 3.1 document of the route table, from its zod schemas. Built once, at start-up. */
export function buildOpenApiDocument(routes: readonly ApiRoute[]): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', BEARER, { type: 'http', scheme: 'bearer', description: 'An API key of the server (`API_KEYS`)' });
  registry.registerComponent('securitySchemes', BASIC, {
    type: 'http',
    scheme: 'basic',
    description: 'Browser pages: any user name, an API key as the password',
  });
  for (const route of routes) registry.registerPath(operationOf(route));
  // FleetSnapshot is the data of an SSE event, referenced by no JSON body; JobRequest is also a batch item,
  // which refers to it by name: both listed so they are in components.
  const generator = new OpenApiGeneratorV31(
    [...registry.definitions, { type: 'schema', schema: fleetStatusSchema }, { type: 'schema', schema: jobRequestBodySchema }],
    { sortComponents: 'alphabetically' },
  );
  return generator.generateDocument({
    openapi: '3.1.0',
    info: { title: 'Scheduler API', version: apiVersion(), description: DESCRIPTION },
    security: [{ [BEARER]: [] }],
    tags: [
      { name: 'jobs', description: 'Submit, read, stream and cancel jobs' },
      { name: 'fleet', description: 'Workers and models' },
      { name: 'operations', description: 'Probes and metrics' },
      { name: 'pages', description: 'Browser pages and this description' },
    ],
  });
}
