import { Registry, collectDefaultMetrics } from 'prom-client';
import { FastCounter as Counter, FastGauge as Gauge, FastHistogram as Histogram } from './fast-metrics.js';

/** End-to-end and stage latencies: 1 ms … 30 s. */
export const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1, 2.5, 5, 10, 30];
/** Routing decisions are microseconds: 10 µs … 10 ms. */
export const DECISION_BUCKETS_S = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01];

/**
 * With METRICS_ENABLED=false every metric is this: any property is itself, any call does
 * nothing. It exists to measure what the metrics cost (BENCHMARKS.md), not for production.
 */
const NOOP_METRIC: unknown = new Proxy(() => undefined, { get: () => NOOP_METRIC, apply: () => undefined });

function metric<T>(enabled: boolean, make: () => T): T {
  return enabled ? make() : (NOOP_METRIC as T);
}

export function createRegistry(app: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ app });
  collectDefaultMetrics({ register: registry });
  return registry;
}

export function createApiMetrics(registry: Registry, enabled = true) {
  return {
    jobsSubmitted: metric(enabled, () => new Counter({
      name: 'sched_jobs_submitted_total',
      help: 'Jobs accepted by the API.',
      labelNames: ['model', 'priority'] as const,
      registers: [registry],
    })),
    jobsRejected: metric(enabled, () => new Counter({
      name: 'sched_jobs_rejected_total',
      help: 'Requests to submit a job that were refused, by reason (error code).',
      labelNames: ['reason'] as const,
      registers: [registry],
    })),
    httpDuration: metric(enabled, () => new Histogram({
      name: 'sched_http_request_duration_seconds',
      help: 'HTTP request duration by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: LATENCY_BUCKETS_S,
      registers: [registry],
    })),
  };
}
export type ApiMetrics = ReturnType<typeof createApiMetrics>;

export function createDispatcherMetrics(registry: Registry, enabled = true) {
  return {
    decisions: metric(enabled, () => new Counter({
      name: 'sched_dispatch_decisions_total',
      help: 'Routing decisions by policy and chosen worker.',
      labelNames: ['policy', 'class', 'worker'] as const,
      registers: [registry],
    })),
    decisionDuration: metric(enabled, () => new Histogram({
      name: 'sched_dispatch_decision_duration_seconds',
      help: 'Time the routing policy takes to pick a worker.',
      buckets: DECISION_BUCKETS_S,
      registers: [registry],
    })),
    fleetWorkers: metric(enabled, () => new Gauge({
      name: 'sched_fleet_workers',
      help: 'Workers known to the dispatcher by class and state.',
      labelNames: ['class', 'state'] as const,
      registers: [registry],
    })),
    heartbeatAge: metric(enabled, () => new Gauge({
      name: 'sched_worker_heartbeat_age_seconds',
      help: 'Seconds since each worker last heartbeated.',
      labelNames: ['worker'] as const,
      registers: [registry],
    })),
    backlog: metric(enabled, () => new Gauge({
      name: 'sched_backlog_jobs',
      help: 'Jobs waiting that are routed to, or only servable by, a class.',
      labelNames: ['class'] as const,
      registers: [registry],
    })),
    webhookDeliveries: metric(enabled, () => new Counter({
      name: 'sched_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome: delivered (2xx), retrying (failed, another attempt scheduled), failed (attempts exhausted or 410), blocked (address not allowed).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    })),
    webhookLatency: metric(enabled, () => new Histogram({
      name: 'sched_webhook_delivery_latency_seconds',
      help: 'From the job finishing to its webhook receiver answering 2xx (retries included).',
      buckets: LATENCY_BUCKETS_S,
      registers: [registry],
    })),
  };
}

export const WEBHOOK_OUTCOMES = ['delivered', 'retrying', 'failed', 'blocked'] as const;
export type DispatcherMetrics = ReturnType<typeof createDispatcherMetrics>;

export function createWorkerMetrics(registry: Registry, enabled = true) {
  return {
    jobDuration: metric(enabled, () => new Histogram({
      name: 'sched_job_duration_seconds',
      help: 'Job latency by stage: queue (submit to start), service, total (submit to finish).',
      labelNames: ['stage', 'model', 'class'] as const,
      buckets: LATENCY_BUCKETS_S,
      registers: [registry],
    })),
    jobsCompleted: metric(enabled, () => new Counter({
      name: 'sched_jobs_completed_total',
      help: 'Job executions finished, by outcome (completed, failed, retried).',
      labelNames: ['model', 'class', 'worker', 'outcome'] as const,
      registers: [registry],
    })),
    jobCost: metric(enabled, () => new Counter({
      name: 'sched_job_cost_total',
      help: 'Cost of busy time (service time × the worker\'s costPerHour), in the fleet file\'s currency. Cost per 1,000 jobs = 1000 × rate(this) / rate(sched_jobs_completed_total).',
      labelNames: ['class', 'worker'] as const,
      registers: [registry],
    })),
    slots: metric(enabled, () => new Gauge({
      name: 'sched_worker_slots',
      help: 'Concurrent execution slots per worker.',
      labelNames: ['worker', 'class'] as const,
      registers: [registry],
    })),
    busySlots: metric(enabled, () => new Gauge({
      name: 'sched_worker_busy_slots',
      help: 'Slots currently executing a job.',
      labelNames: ['worker', 'class'] as const,
      registers: [registry],
    })),
  };
}
export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
