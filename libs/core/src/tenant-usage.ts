import type { Catalog } from './catalog.js';
import type { JobPayload } from './job-view.js';
import { ANONYMOUS_TENANT_ID } from './tenants.js';

/**
 * A tenant's usage counters, one hash per owner (`keys.usage`), counted where each fact happens:
 * `submitted` by the API (jobs added), `cancelled` by whoever records a cancel (API or dispatcher),
 * and per worker, by the worker, `completed:<worker>`, `failed:<worker>` (failed after its
 * retries) and `serviceMs:<worker>` (the service time of each finished job's last execution).
 */
export const USAGE_FIELDS = {
  submitted: 'submitted',
  cancelled: 'cancelled',
  finished: (outcome: 'completed' | 'failed', workerId: string) => `${outcome}:${workerId}`,
  serviceMs: (workerId: string) => `serviceMs:${workerId}`,
} as const;

/** The owner of a job's payload: `anonymous` for a job submitted before owners were recorded. */
export function payloadOwner(payload: Pick<Partial<JobPayload>, 'owner'>): string {
  return payload.owner ?? ANONYMOUS_TENANT_ID;
}

export interface TenantUsage {
  jobs: { submitted: number; completed: number; failed: number; cancelled: number };
  /** Service time of finished jobs on workers, seconds. */
  serviceSeconds: number;
  /** Σ over workers of service hours × the worker's `costPerHour` (fleet file; 0 when it has none), in the fleet file's currency unit. */
  cost: number;
}

/** A usage hash read back (HGETALL), priced with the catalog. */
export function tenantUsage(record: Record<string, string>, workers: Catalog['workers']): TenantUsage {
  const price = new Map(workers.map((worker) => [worker.id, worker.costPerHour ?? 0]));
  const usage: TenantUsage = { jobs: { submitted: 0, completed: 0, failed: 0, cancelled: 0 }, serviceSeconds: 0, cost: 0 };
  for (const [field, text] of Object.entries(record)) {
    const value = Number(text);
    if (!Number.isFinite(value)) continue;
    const [kind, workerId = ''] = field.split(':', 2);
    if (kind === 'submitted' || kind === 'cancelled' || kind === 'completed' || kind === 'failed') usage.jobs[kind] += value;
    else if (kind === 'serviceMs') {
      usage.serviceSeconds += value / 1000;
      usage.cost += (value / 3_600_000) * (price.get(workerId) ?? 0);
    }
  }
  usage.serviceSeconds = Math.round(usage.serviceSeconds * 1000) / 1000;
  usage.cost = Math.round(usage.cost * 1e6) / 1e6;
  return usage;
}
