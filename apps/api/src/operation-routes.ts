import { SchedError, healthSchema, readinessSchema, redisUnavailable } from '@sched/core';
import { mergeExpositions } from '@sched/telemetry';
import type { Registry } from 'prom-client';
import { defineRoute, jsonResponse, textResponse, type ApiRoute } from './api-route.js';
import type { JobGateway } from './job-gateway.js';

export interface OperationRoutesOptions {
  jobs: Pick<JobGateway, 'ping' | 'connected' | 'ingressMetrics'>;
  registry: Pick<Registry, 'contentType' | 'metrics'>;
}

/** The probes and the Prometheus scrape: open without a key (the scraper and the orchestrator have none). */
export function operationRoutes(options: OperationRoutesOptions): ApiRoute[] {
  const { jobs, registry } = options;
  return [
    defineRoute({
      method: 'get',
      path: '/healthz',
      operationId: 'getHealth',
      tag: 'operations',
      summary: 'Liveness',
      access: 'public',
      responses: { 200: jsonResponse('The process is up', healthSchema) },
      errors: [],
      handle: (_input, _req, res) => {
        res.json({ status: 'ok' });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/readyz',
      operationId: 'getReadiness',
      tag: 'operations',
      summary: 'Readiness: Redis answers',
      access: 'public',
      responses: { 200: jsonResponse('Ready', readinessSchema) },
      errors: ['redis_unavailable'],
      handle: async (_input, _req, res) => {
        try {
          await jobs.ping();
        } catch (error) {
          throw error instanceof SchedError ? error : redisUnavailable(error);
        }
        res.json({ status: 'ready' });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/metrics',
      operationId: 'getMetrics',
      tag: 'operations',
      summary: 'Prometheus metrics (open: keep it behind the network)',
      access: 'public',
      responses: { 200: textResponse('text/plain', 'Prometheus text exposition format 0.0.4') },
      errors: [],
      handle: async (_input, _req, res) => {
        // The ingress queue's counts from BullMQ's own exporter (the dispatcher exports the worker queues).
        const queueText = jobs.connected ? mergeExpositions([await jobs.ingressMetrics()]) : '';
        res.type(registry.contentType).send((await registry.metrics()) + queueText);
      },
    }),
  ];
}
