import { ANONYMOUS_TENANT, tenantUsage, usageListSchema, type Catalog, type Tenant, type TenantDirectory } from '@sched/core';
import { tenantOf } from './api-keys.js';
import { defineRoute, jsonResponse, type ApiRoute } from './api-route.js';
import type { JobGateway } from './job-gateway.js';

export interface UsageRouteOptions {
  /** Every configured key (an admin sees each one's usage). */
  tenants: Pick<TenantDirectory, 'tenants'>;
  /** Prices each worker's busy time (`costPerHour`). */
  catalog: Pick<Catalog, 'workers'>;
  jobs: Pick<JobGateway, 'usage'>;
}

/** `GET /v1/usage`: what a key has used, from counters kept where each job's outcome happens (libs/core/src/tenant-usage.ts). */
export function usageRoute(options: UsageRouteOptions): ApiRoute {
  const { tenants, catalog, jobs } = options;
  return defineRoute({
    method: 'get',
    path: '/v1/usage',
    operationId: 'getUsage',
    tag: 'jobs',
    summary: "The caller's usage: jobs by outcome, service seconds and cost",
    description: [
      "The caller's own key; an admin key sees every configured key, and `anonymous` (jobs submitted without keys).",
      "Counted since usage was first recorded (no window, no expiry; purging a job's data keeps its usage).",
      "Cost is each finished job's service time (its last execution) times its worker's `costPerHour` in the fleet file;",
      'jobs executed together in one batch are each counted for the whole batch time.',
    ].join(' '),
    responses: { 200: jsonResponse('One entry per key', usageListSchema) },
    errors: ['unauthorized', 'rate_limited', 'redis_unavailable'],
    handle: async (_input, _req, res) => {
      const caller = tenantOf(res);
      const shown: readonly Tenant[] = caller.admin ? [...tenants.tenants, ANONYMOUS_TENANT] : [caller];
      const records = await jobs.usage(shown.map((tenant) => tenant.id));
      res.json({ tenants: shown.map((tenant, i) => ({ tenant: tenant.name, ...tenantUsage(records[i] ?? {}, catalog.workers) })) });
    },
  });
}
