import { Registry, collectDefaultMetrics } from 'prom-client';
import { metricFactory } from './metric-factory.js';

/** End-to-end and stage latencies: 1 ms … 30 s. */
export const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1, 2.5, 5, 10, 30];
/** Routing decisions are microseconds: 10 µs … 10 ms. */
export const DECISION_BUCKETS_S = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01];

export function createRegistry(app: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ app });
  collectDefaultMetrics({ register: registry });
  return registry;
}

export function createApiMetrics(registry: Registry, enabled = true) {
  const m = metricFactory(registry, enabled);
  return {
    jobsSubmitted: m.counter({ name: 'sched_jobs_submitted_total', help: 'Jobs accepted by the API.', labelNames: ['model', 'priority'] }),
    /** `tenant` is a configured key's name (or `anonymous`): as many label values as keys, never a key or its digest. */
    tenantJobsSubmitted: m.counter({ name: 'sched_tenant_jobs_submitted_total', help: "Jobs accepted by the API per tenant (the API key's name).", labelNames: ['tenant'] }),
    jobsRejected: m.counter({ name: 'sched_jobs_rejected_total', help: 'Requests to submit a job that were refused, by reason (error code).', labelNames: ['reason'] }),
    httpDuration: m.histogram({
      name: 'sched_http_request_duration_seconds',
      help: 'HTTP request duration by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS_S,
    }),
  };
}
export type ApiMetrics = ReturnType<typeof createApiMetrics>;

export function createDispatcherMetrics(registry: Registry, enabled = true) {
  const m = metricFactory(registry, enabled);
  return {
    decisions: m.counter({ name: 'sched_dispatch_decisions_total', help: 'Routing decisions by policy and chosen worker.', labelNames: ['policy', 'class', 'worker'] }),
    decisionDuration: m.histogram({ name: 'sched_dispatch_decision_duration_seconds', help: 'Time the routing policy takes to pick a worker.', buckets: DECISION_BUCKETS_S }),
    fleetWorkers: m.gauge({ name: 'sched_fleet_workers', help: 'Workers known to the dispatcher by class and state.', labelNames: ['class', 'state'] }),
    heartbeatAge: m.gauge({ name: 'sched_worker_heartbeat_age_seconds', help: 'Seconds since each worker last heartbeated.', labelNames: ['worker'] }),
    rerouted: m.counter({
      name: 'sched_jobs_rerouted_total',
      help: 'Jobs this dispatcher took back from a worker and sent to ingress to be routed again, by reason (worker_gone: its descriptor expired or it left; worker_draining: it is shutting down) and state (waiting: not started there; active: started there, its lock expired, so it runs again).',
      labelNames: ['reason', 'state'],
    }),
    backlog: m.gauge({ name: 'sched_backlog_jobs', help: 'Jobs waiting that are routed to, or only servable by, a class.', labelNames: ['class'] }),
    waiting: m.gauge({
      name: 'sched_waiting_jobs',
      help: 'Jobs accepted and not started that a class could serve: in ingress (waiting, held by sed-late, parked) for every class serving the model, plus those queued beyond a worker\'s slots. Read from Redis, the same in every dispatcher: aggregate with max(), never sum().',
      labelNames: ['class'],
    }),
    webhookDeliveries: m.counter({
      name: 'sched_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome: delivered (2xx), retrying (failed, another attempt scheduled), failed (attempts exhausted or 410), blocked (address not allowed).',
      labelNames: ['outcome'],
    }),
    webhooksFailed: m.counter({
      name: 'sched_webhooks_failed_total',
      help: 'Webhooks given up for good, by reason: attempts_exhausted, gone (410), blocked (address not allowed), expired (the job was gone before its first attempt).',
      labelNames: ['reason'],
    }),
    webhookLatency: m.histogram({
      name: 'sched_webhook_delivery_latency_seconds',
      help: 'From the job finishing to its webhook receiver answering 2xx (retries included).',
      buckets: LATENCY_BUCKETS_S,
    }),
  };
}

export const WEBHOOK_OUTCOMES = ['delivered', 'retrying', 'failed', 'blocked'] as const;
export const WEBHOOK_FAILURE_REASONS = ['attempts_exhausted', 'gone', 'blocked', 'expired'] as const;
export type WebhookFailureReason = (typeof WEBHOOK_FAILURE_REASONS)[number];
export type DispatcherMetrics = ReturnType<typeof createDispatcherMetrics>;

export function createWorkerMetrics(registry: Registry, enabled = true) {
  const m = metricFactory(registry, enabled);
  return {
    jobDuration: m.histogram({
      name: 'sched_job_duration_seconds',
      help: 'Job latency by stage: queue (submit to start), service, total (submit to finish).',
      labelNames: ['stage', 'model', 'class'],
      buckets: LATENCY_BUCKETS_S,
    }),
    jobsCompleted: m.counter({ name: 'sched_jobs_completed_total', help: 'Job executions finished, by outcome (completed, failed, retried, cancelled: stopped while running by a DELETE).', labelNames: ['model', 'class', 'worker', 'outcome'] }),
    jobCost: m.counter({
      name: 'sched_job_cost_total',
      help: 'Cost of busy time (service time × the worker\'s costPerHour), in the fleet file\'s currency. Cost per 1,000 jobs = 1000 × rate(this) / rate(sched_jobs_completed_total).',
      labelNames: ['class', 'worker'],
    }),
    slots: m.gauge({ name: 'sched_worker_slots', help: 'Concurrent execution slots per worker.', labelNames: ['worker', 'class'] }),
    busySlots: m.gauge({ name: 'sched_worker_busy_slots', help: 'Slots currently executing a job.', labelNames: ['worker', 'class'] }),
  };
}
export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
