import { readFileSync } from 'node:fs';
import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import {
  ERROR_TABLE,
  fleetListSchema,
  fleetStatusSchema,
  healthSchema,
  jobAcceptedSchema,
  jobEventsHeadersSchema,
  jobIdParamsSchema,
  jobListQuerySchema,
  jobListSchema,
  jobReadQuerySchema,
  jobRequestSchema,
  jobSubmitHeadersSchema,
  jobViewSchema,
  modelCatalogSchema,
  problemDetailsSchema,
  readinessSchema,
  type Equals,
  type Catalog,
  type SchedErrorCode,
  type workerStatusSchema,
  type recentSummarySchema,
} from '@sched/core';
import { DOCS_ASSETS } from './docs-page.js';
import type { WorkerStatus } from './fleet-routes.js';
import { MAX_WAIT_S } from './job-routes.js';
import type { RecentSummary } from './recent-completions.js';

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

type Expect<T extends true> = T;
/** The API's own response types (they live here, not in libs/core) against their schemas. */
type _SchemasMatchApiTypes = [
  Expect<Equals<z.infer<typeof workerStatusSchema>, WorkerStatus>>,
  Expect<Equals<z.infer<typeof recentSummarySchema>, RecentSummary>>,
  Expect<Equals<z.infer<typeof modelCatalogSchema>['models'][number]['classes'], Catalog['models'][string]>>,
];

/**
 * The request body under its component name. zod types `input` as `unknown`, so the generator
 * would call it optional; a key is required exactly when the schema refuses it absent.
 * (Module level: a zod `id` can be registered once per process.)
 */
const jobRequestBodySchema = jobRequestSchema.meta({
  id: 'JobRequest',
  required: Object.entries(jobRequestSchema.shape)
    .filter(([, schema]) => !schema.safeParse(undefined).success)
    .map(([key]) => key),
});

const BEARER = 'apiKey';
const BASIC = 'browserBasic';
/** Routes open without a key (see api-keys.ts and create-api.ts). */
const PUBLIC: RouteConfig['security'] = [];
/** Browser pages: Basic (any user, the key as password); Bearer works there too. */
const BROWSER: RouteConfig['security'] = [{ [BASIC]: [] }, { [BEARER]: [] }];

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

const json = (description: string, schema: z.ZodType): ResponseConfig => ({ description, content: { 'application/json': { schema } } });
const text = (mediaType: string, description: string): ResponseConfig => ({ description, content: { [mediaType]: { schema: { type: 'string' } } } });

const SSE_JOB = [
  'One event per status change, named after the new status (`queued`, `dispatched`, `running`, `completed`, `failed`, `cancelled`);',
  '`data:` is the job view (`JobView`, read when the event is sent), `id:` grows with every change, retries included.',
  'The first event is the status when the stream opens; the stream ends after the terminal event.',
  'A `: keep-alive` comment line comes every 15 s.',
].join(' ');
const SSE_FLEET = [
  'An event `fleet` every second; `data:` is a `FleetSnapshot` (every worker and the last minute\'s throughput, p99 and routing share).',
  'While Redis is unreachable the event is `unavailable` with `data: {}`. The stream never ends.',
].join(' ');

function registerRoutes(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: 'post',
    path: '/v1/jobs',
    operationId: 'submitJob',
    tags: ['jobs'],
    summary: 'Submit a job',
    description: 'Validates the body, then adds the job to the ingress queue. The job id is made by the server.',
    request: {
      headers: jobSubmitHeadersSchema,
      body: { required: true, content: { 'application/json': { schema: jobRequestBodySchema } } },
    },
    responses: {
      202: {
        description: 'Accepted (also the answer to a repeated Idempotency-Key with the same body)',
        headers: { Location: { description: '`/v1/jobs/<id>`', schema: { type: 'string' } } },
        content: { 'application/json': { schema: jobAcceptedSchema } },
      },
      ...problems(
        'invalid_json',
        'validation_failed',
        'unauthorized',
        'payload_too_large',
        'unsupported_media_type',
        'unknown_model',
        'webhooks_disabled',
        'webhook_url_forbidden',
        'idempotency_mismatch',
        'redis_unavailable',
      ),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/jobs',
    operationId: 'listJobs',
    tags: ['jobs'],
    summary: 'List jobs, newest first',
    request: { query: jobListQuerySchema },
    responses: { 200: json('One page of jobs', jobListSchema), ...problems('invalid_query', 'unauthorized', 'redis_unavailable') },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/jobs/{id}',
    operationId: 'getJob',
    tags: ['jobs'],
    summary: 'Read a job',
    description: `With \`wait\`, answers as soon as the job is finished, or after \`wait\` seconds (at most ${MAX_WAIT_S}) with its status then.`,
    request: { params: jobIdParamsSchema, query: jobReadQuerySchema },
    responses: { 200: json('The job', jobViewSchema), ...problems('invalid_query', 'unauthorized', 'job_not_found', 'redis_unavailable') },
  });
  registry.registerPath({
    method: 'delete',
    path: '/v1/jobs/{id}',
    operationId: 'cancelJob',
    tags: ['jobs'],
    summary: 'Cancel a job that has not started',
    description: 'A job already cancelled answers 200 again; one running or finished answers 409.',
    request: { params: jobIdParamsSchema },
    responses: {
      200: json('The cancelled job (`status: cancelled`)', jobViewSchema),
      ...problems('unauthorized', 'job_not_found', 'job_not_cancellable', 'redis_unavailable'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/jobs/{id}/events',
    operationId: 'streamJobEvents',
    tags: ['jobs'],
    summary: "Stream a job's status changes (Server-Sent Events)",
    request: { params: jobIdParamsSchema, headers: jobEventsHeadersSchema },
    responses: { 200: text('text/event-stream', SSE_JOB), ...problems('unauthorized', 'job_not_found', 'redis_unavailable') },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/fleet',
    operationId: 'getFleet',
    tags: ['fleet'],
    summary: 'Every worker ever seen, with its queue load and liveness',
    responses: { 200: json('The fleet', fleetListSchema), ...problems('unauthorized', 'redis_unavailable') },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/fleet/stream',
    operationId: 'streamFleet',
    tags: ['fleet'],
    summary: 'The fleet once a second (Server-Sent Events; feeds the page at /)',
    security: BROWSER,
    responses: { 200: text('text/event-stream', SSE_FLEET), ...problems('unauthorized') },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/models',
    operationId: 'listModels',
    tags: ['fleet'],
    summary: 'The model catalog',
    responses: { 200: json('Every model with its latency per class and the workers that serve it', modelCatalogSchema), ...problems('unauthorized') },
  });
  registry.registerPath({
    method: 'get',
    path: '/healthz',
    operationId: 'getHealth',
    tags: ['operations'],
    summary: 'Liveness',
    security: PUBLIC,
    responses: { 200: json('The process is up', healthSchema), ...problems() },
  });
  registry.registerPath({
    method: 'get',
    path: '/readyz',
    operationId: 'getReadiness',
    tags: ['operations'],
    summary: 'Readiness: Redis answers',
    security: PUBLIC,
    responses: { 200: json('Ready', readinessSchema), ...problems('redis_unavailable') },
  });
  registry.registerPath({
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    tags: ['operations'],
    summary: 'Prometheus metrics (open: keep it behind the network)',
    security: PUBLIC,
    responses: { 200: text('text/plain', 'Prometheus text exposition format 0.0.4'), ...problems() },
  });
  registry.registerPath({
    method: 'get',
    path: '/',
    operationId: 'getFleetPage',
    tags: ['pages'],
    summary: 'The live fleet page',
    security: BROWSER,
    responses: { 200: text('text/html', 'HTML page following /v1/fleet/stream'), ...problems('unauthorized') },
  });
  registry.registerPath({
    method: 'get',
    path: '/admin/queues',
    operationId: 'getQueueBoard',
    tags: ['pages'],
    summary: "Bull Board over ingress and every worker queue (its own routes below this path are Bull Board's)",
    security: BROWSER,
    responses: { 200: text('text/html', 'Bull Board'), ...problems('unauthorized') },
  });
  registry.registerPath({
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    tags: ['pages'],
    summary: 'This document',
    security: PUBLIC,
    responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } }, ...problems() },
  });
  registry.registerPath({
    method: 'get',
    path: '/docs',
    operationId: 'getDocsPage',
    tags: ['pages'],
    summary: 'This document in Swagger UI',
    security: PUBLIC,
    responses: { 200: text('text/html', 'HTML page rendering /openapi.json'), ...problems() },
  });
  registry.registerPath({
    method: 'get',
    path: '/docs/assets/{file}',
    operationId: 'getDocsAsset',
    tags: ['pages'],
    summary: 'Swagger UI files for /docs (served by the API, no CDN)',
    security: PUBLIC,
    request: { params: z.object({ file: z.enum(Object.keys(DOCS_ASSETS)) }) },
    responses: {
      200: {
        description: 'The file',
        content: Object.fromEntries([...new Set(Object.values(DOCS_ASSETS))].map((type) => [type, { schema: { type: 'string' } }])),
      },
      ...problems('route_not_found'),
    },
  });
}

const DESCRIPTION = `Submits inference jobs, reads their status, streams their changes, and shows the fleet.

- **Errors** are \`application/problem+json\` (RFC 9457) with a stable \`code\` and \`type: urn:sched:problem:<code>\`; validation errors list each field in \`errors\`. \`429\`/\`503\` carry \`Retry-After\`.
- Any method a path does not list answers \`405\` \`method_not_allowed\` with an \`Allow\` header; an unknown path \`404\` \`route_not_found\`.
- **API keys** (when the server sets \`API_KEYS\`): \`Authorization: Bearer <key>\`, or HTTP Basic with the key as password (browser pages). Without \`API_KEYS\` no key is needed. \`/healthz\`, \`/readyz\`, \`/metrics\`, \`/openapi.json\` and \`/docs\` are always open.`;

function apiVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The OpenAPI 3.1 document of every route, from the zod schemas. Built once, at start-up. */
export function buildOpenApiDocument(): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', BEARER, { type: 'http', scheme: 'bearer', description: 'An API key of the server (`API_KEYS`)' });
  registry.registerComponent('securitySchemes', BASIC, {
    type: 'http',
    scheme: 'basic',
    description: 'Browser pages: any user name, an API key as the password',
  });
  registerRoutes(registry);
  // FleetSnapshot is the data of an SSE event, referenced by no JSON body: listed so it is in components.
  const generator = new OpenApiGeneratorV31([...registry.definitions, { type: 'schema', schema: fleetStatusSchema }], { sortComponents: 'alphabetically' });
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
