import { writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCatalog } from '@sched/core';
import { rawRequest } from '@sched/testkit';
import { JOB_PLACEHOLDER, hostileRequest, type ClientRequest, type HostileRequest } from './hostile-requests.js';
import { useCluster } from './support.js';

/**
 * Hostile requests against the running API (with its dispatcher and a fast worker, on a real
 * redis-server), over a real socket: never a 5xx, every 4xx a problem+json with a detail, the
 * process up, and its heap flat. FUZZ_SEED and FUZZ_RUNS change the run; FUZZ_DUMP=<file> writes
 * every failure (not only one of each kind) as JSON.
 */

const FLEET = parseCatalog({
  models: { default: { gpu: { p50Ms: 1, p99Ms: 2 } }, small: { gpu: { p50Ms: 1, p99Ms: 2 } } },
  workers: [{ id: 'gpu-0', class: 'gpu', slots: 16 }],
});

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_203);
const WARM_UP = 500;
const RUNS = Number(process.env.FUZZ_RUNS ?? 5000);
const CONCURRENCY = 6;
/** A request that takes longer is a hang (every wait it can ask for is kept to a second, the timeouts below to 3 s). */
const REQUEST_DEADLINE_MS = 15_000;
/**
 * Heap growth allowed over the measured run, after a forced GC at each end: 8 MiB, about 1.7 KiB
 * per request. What legitimately grows: the API's window of recent completions (60 s) and the
 * fleet view's per-job bookkeeping; a leak of one request object per request would pass it.
 */
const HEAP_TOLERANCE_BYTES = 8 * 1024 * 1024;
/** RSS also holds freed pages the allocator has not returned; it only guards against a runaway. */
const RSS_TOLERANCE_BYTES = 96 * 1024 * 1024;

const ctx = useCluster(FLEET, {
  HTTP_HEADERS_TIMEOUT_MS: '2000',
  HTTP_REQUEST_TIMEOUT_MS: '3000',
  WEBHOOK_MAX_ATTEMPTS: '1',
  WEBHOOK_TIMEOUT_MS: '500',
});

/** Methods Node's client sends a body of without framing unless told its length. */
const UNCHUNKED_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

interface Outcome {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string;
}

interface Failure {
  readonly request: string;
  readonly problem: string;
}

function forceGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * Sends one request. A kept-alive connection the server closed after its last answer (as it does
 * after refusing a malformed request) can fail the next request sent on it before any byte is
 * read; that one is sent again on a new connection, as Node's documentation advises.
 */
async function sendClient(port: number, agent: Agent, req: ClientRequest, jobId: string): Promise<Outcome> {
  try {
    return await sendOnce(port, agent, req, jobId);
  } catch (error) {
    if (!(error instanceof Error && 'reusedSocket' in error && error.reusedSocket === true)) throw error;
    return sendOnce(port, false, req, jobId).catch((again: unknown) => {
      throw new Error(`${String(again)} (sent again after ${error.message})`);
    });
  }
}

function sendOnce(port: number, agent: Agent | false, req: ClientRequest, jobId: string): Promise<Outcome> {
  const target = req.target.replaceAll(JOB_PLACEHOLDER, jobId);
  const body = req.body === null ? null : Buffer.from(req.body.toString('latin1').replaceAll(JOB_PLACEHOLDER, jobId), 'latin1');
  const headers: Record<string, string> = { ...req.headers };
  // Node's client frames a body without Content-Length as chunked only for methods that usually carry one.
  if (body !== null && (!req.chunked || UNCHUNKED_METHODS.has(req.method))) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, method: req.method, path: target, headers, agent }, (res) => {
      const contentType = res.headers['content-type'];
      // A stream (SSE) is judged on its head: following it would hold the connection for the job's life.
      if (res.statusCode === 200 && contentType?.startsWith('text/event-stream') === true) {
        res.destroy();
        resolve({ status: 200, contentType, body: '' });
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    outgoing.setTimeout(REQUEST_DEADLINE_MS, () => outgoing.destroy(new Error(`no answer within ${REQUEST_DEADLINE_MS} ms`)));
    outgoing.on('error', (error) => reject(Object.assign(error, { reusedSocket: outgoing.reusedSocket })));
    outgoing.end(body ?? undefined);
  });
}

/** What is wrong with an answer, or null. */
function judge(method: string, outcome: Outcome): string | null {
  if (outcome.status >= 500) return `${outcome.status} ${outcome.body.slice(0, 300)}`;
  if (outcome.status < 400) return null;
  if (outcome.contentType?.startsWith('application/problem+json') !== true) return `${outcome.status} with content-type ${outcome.contentType ?? 'none'}: ${outcome.body.slice(0, 200)}`;
  if (method === 'HEAD') return null;
  let problem: { status?: unknown; detail?: unknown };
  try {
    problem = JSON.parse(outcome.body) as typeof problem;
  } catch {
    return `${outcome.status} problem body is not JSON: ${outcome.body.slice(0, 200)}`;
  }
  if (typeof problem.detail !== 'string' || problem.detail.length === 0) return `${outcome.status} problem without a detail: ${outcome.body.slice(0, 200)}`;
  if (problem.status !== outcome.status) return `${outcome.status} problem says status ${String(problem.status)}`;
  return null;
}

function describeRequest(req: HostileRequest): string {
  if (req.kind === 'raw') return `raw ${JSON.stringify(req.bytes.toString('latin1').slice(0, 300))}`;
  const body = req.body === null ? '' : ` body ${JSON.stringify(req.body.toString('latin1').slice(0, 200))}`;
  return `${req.method} ${req.target.slice(0, 200)} headers ${JSON.stringify(req.headers).slice(0, 300)}${body}`;
}

describe('fuzzing the API with hostile requests', () => {
  it(`answers ${RUNS} generated hostile requests without a 5xx, each 4xx a problem+json, with a flat heap`, { timeout: 180_000 }, async () => {
    const gc = forceGc();
    const port = Number(new URL(ctx.cluster.apiUrl).port);
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const requests = fc.sample(hostileRequest, { numRuns: WARM_UP + RUNS, seed: SEED });
    const jobIds: string[] = ['00000000-0000-4000-8000-000000000000'];
    const failures: Failure[] = [];
    const crashes: unknown[] = [];
    const onCrash = (error: unknown): void => void crashes.push(error);
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);

    const send = async (req: HostileRequest): Promise<void> => {
      const jobId = jobIds[Math.floor(Math.random() * jobIds.length)] ?? '';
      try {
        if (req.kind === 'raw') {
          const res = await rawRequest(port, req.bytes, REQUEST_DEADLINE_MS);
          const problem = judge('RAW', { status: res.status, contentType: res.headers['content-type'], body: res.body });
          if (problem !== null) failures.push({ request: describeRequest(req), problem });
          return;
        }
        const outcome = await sendClient(port, agent, req, jobId);
        const problem = judge(req.method, outcome);
        if (problem !== null) failures.push({ request: describeRequest(req), problem });
        const accepted = outcome.status === 202 ? /"id":"([0-9a-f-]{36})"/.exec(outcome.body)?.[1] : undefined;
        if (accepted !== undefined && jobIds.length < 200) jobIds.push(accepted);
      } catch (error) {
        failures.push({ request: describeRequest(req), problem: `no answer: ${error instanceof Error ? error.message : String(error)}` });
      }
    };
    const run = async (batch: readonly HostileRequest[]): Promise<void> => {
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < batch.length) await send(batch[next++] as HostileRequest);
        }),
      );
    };
    const settle = async (): Promise<NodeJS.MemoryUsage> => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      gc();
      gc();
      return process.memoryUsage();
    };

    try {
      const started = Date.now();
      await run(requests.slice(0, WARM_UP));
      const before = await settle();
      await run(requests.slice(WARM_UP));
      const after = await settle();
      const seconds = (Date.now() - started) / 1000;
      const mib = (bytes: number): string => (bytes / 1048576).toFixed(1);
      console.info(
        `fuzz: ${WARM_UP} + ${RUNS} requests (seed ${SEED}) in ${seconds.toFixed(1)} s; heapUsed ${mib(before.heapUsed)} → ${mib(after.heapUsed)} MiB, rss ${mib(before.rss)} → ${mib(after.rss)} MiB; ${failures.length} failures`,
      );
      if (process.env.FUZZ_DUMP !== undefined) writeFileSync(process.env.FUZZ_DUMP, JSON.stringify(failures, null, 1));
      const distinct = new Map<string, Failure>();
      for (const failure of failures) distinct.set(failure.problem.replace(/[0-9a-f-]{36}/g, '<id>').slice(0, 80), failure);
      expect([...distinct.values()].map((f) => `${f.problem}\n    ← ${f.request}`)).toEqual([]);
      expect(crashes).toEqual([]);
      expect((await fetch(`${ctx.cluster.apiUrl}/healthz`)).status).toBe(200);
      expect((await fetch(`${ctx.cluster.apiUrl}/readyz`)).status).toBe(200);
      expect(after.heapUsed - before.heapUsed).toBeLessThan(HEAP_TOLERANCE_BYTES);
      expect(after.rss - before.rss).toBeLessThan(RSS_TOLERANCE_BYTES);
    } finally {
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
      agent.destroy();
    }
  });
});
