import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog, type JobRequest } from '@sched/core';
import { RedisErrorLog, closeRedis, createLogger, createRedis } from '@sched/runtime';
import { RedisServer } from '@sched/testkit';
import { JobGateway } from '../src/job-gateway.js';
import { useApi } from './use-api.js';

// An Idempotency-Key's record is pending until its job is known to exist: no answer is ever a 202
// for a job that is not there, whatever Redis does between the record and the add.

const fleet = parseCatalog({ models: { default: { gpu: { p50Ms: 5, p99Ms: 5 } } }, workers: [{ id: 'gpu-0', class: 'gpu', slots: 1 }] });
const ctx = useApi(fleet, { env: { REDIS_TIMEOUT_MS: '300' } });

function submit(idempotencyKey: string, body: unknown): Promise<Response> {
  return fetch(`${ctx.cluster.apiUrl}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
    body: JSON.stringify(body),
  });
}

async function jobStatus(id: string): Promise<number> {
  return (await fetch(`${ctx.cluster.apiUrl}/v1/jobs/${id}`)).status;
}

describe('an Idempotency-Key whose record lands after the API answered 503 (Redis paused)', () => {
  it('never answers a retry 202 for a job that does not exist; a retry adds the job', async () => {
    const admin = createRedis(ctx.redisUrl, 'service');
    const body = { model: 'default', input: 'paused' };
    try {
      // Writes wait out the pause; the API gives up after REDIS_TIMEOUT_MS, and its record lands later.
      await admin.call('CLIENT', 'PAUSE', '1500', 'WRITE');
      const first = await submit('paused-1', body);
      expect(first.status).toBe(503);
      expect(first.headers.get('retry-after')).not.toBeNull();
      await sleep(1700);
      let answered: { id: string } | undefined;
      const deadline = Date.now() + 10_000;
      while (answered === undefined && Date.now() < deadline) {
        const res = await submit('paused-1', body);
        if (res.status === 202) {
          answered = (await res.json()) as { id: string };
          break;
        }
        // Until the job is known to be in or known not to be: in progress, with a Retry-After.
        expect([409, 503]).toContain(res.status);
        expect(res.headers.get('retry-after')).not.toBeNull();
        await sleep(100);
      }
      expect(answered).toBeDefined();
      expect(await jobStatus(answered?.id ?? '')).toBe(200);
      // And every later retry is the same, existing job.
      const again = await submit('paused-1', body);
      expect(again.status).toBe(202);
      expect(((await again.json()) as { id: string }).id).toBe(answered?.id);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      admin.disconnect();
    }
  });
});

describe('eight concurrent submissions with one key while the add fails (Redis refuses it: a read-only replica)', () => {
  let replica: RedisServer;
  beforeAll(async () => {
    replica = await RedisServer.start({ appendOnly: false });
    const client = createRedis(replica.url, 'service');
    await client.call('REPLICAOF', '127.0.0.1', String(ctx.redis.port));
    client.disconnect();
  });
  afterAll(async () => {
    await replica.stop();
  });

  /** A gateway whose records go to the primary and whose adds go to `queueUrl`. */
  async function gateway(queueUrl: string, prefix: string): Promise<{ gateway: JobGateway; close(): Promise<void> }> {
    const redisLog = new RedisErrorLog(createLogger('test', 'silent'));
    const redis = createRedis(ctx.redisUrl, 'producer');
    const queueConnection = createRedis(queueUrl, 'producer');
    redisLog.watchConnection(redis, 'test');
    redisLog.watchConnection(queueConnection, 'test-queues');
    for (const connection of [redis, queueConnection]) if (connection.status !== 'ready') await once(connection, 'ready');
    const gw = new JobGateway({ redis, queueConnection, config: { ...ctx.config, KEY_PREFIX: prefix }, catalog: fleet, redisLog });
    return {
      gateway: gw,
      close: async () => {
        await gw.close();
        await Promise.all([closeRedis(redis), closeRedis(queueConnection)]);
      },
    };
  }

  it('answers 503 or 409 (never a 202 for a missing job, never a 500), then a retry adds the job', async () => {
    const prefix = `${ctx.config.KEY_PREFIX}-ro`;
    const request: JobRequest = { model: 'default', input: 'concurrent', priority: 'normal' };
    const item = { request, idempotency: { key: 'one-key', scope: 'global' } };
    const failing = await gateway(replica.url, prefix);
    const healthy = await gateway(ctx.redisUrl, prefix);
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, () =>
          failing.gateway.submitMany([item], 'anonymous').then(
            ([result]) => ({ result }),
            (error: unknown) => ({ error }),
          ),
        ),
      );
      for (const outcome of outcomes) {
        if ('result' in outcome) {
          const result = outcome.result;
          expect(result.ok).toBe(false);
          if (!result.ok) {
            expect(result.error.code).toBe('idempotency_in_progress');
            expect(result.error.retryAfterS).toBeGreaterThan(0);
          }
        } else {
          expect(outcome.error).toMatchObject({ code: 'redis_unavailable', status: 503 });
        }
      }
      // Redis is writable again (the adds go to the primary): a retry adds the job, and it exists.
      let accepted: string | undefined;
      const deadline = Date.now() + 10_000;
      while (accepted === undefined && Date.now() < deadline) {
        const [result] = await healthy.gateway.submitMany([item], 'anonymous');
        if (result?.ok) accepted = result.accepted.id;
        else await sleep(50);
      }
      expect(accepted).toBeDefined();
      expect(await healthy.gateway.readOwned(accepted ?? '')).not.toBeNull();
    } finally {
      await failing.close();
      await healthy.close();
    }
  });
});

describe('a submission without an Idempotency-Key whose add times out', () => {
  it('answers 503 naming the id the job has if the add lands after all (jobId and Location)', async () => {
    const admin = createRedis(ctx.redisUrl, 'service');
    try {
      await admin.call('CLIENT', 'PAUSE', '1000', 'WRITE');
      const res = await fetch(`${ctx.cluster.apiUrl}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'default', input: 'timed out' }),
      });
      expect(res.status).toBe(503);
      const problem = (await res.json()) as { code: string; jobId?: string };
      expect(problem.code).toBe('redis_unavailable');
      expect(problem.jobId).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers.get('location')).toBe(`/v1/jobs/${problem.jobId}`);
      // The add was only late: once Redis takes writes again, the job is there under that id.
      await expect.poll(() => jobStatus(problem.jobId ?? ''), { timeout: 5000, interval: 100 }).toBe(200);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      admin.disconnect();
    }
  });
});
