import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog, type Config } from '@sched/core';
import { createApi, type Api } from '@sched/api';
import { createDispatcher, type Dispatcher } from '@sched/dispatcher';
import { REPO_ROOT, freePort, waitFor } from '@sched/testkit';
import { useRedis } from '@sched/testkit/fixtures';
import { createWorkerHost, type WorkerHost } from '@sched/worker';
import { findObject, readBase } from './kustomize-tree.js';
import { submitJob } from './support.js';

// sched_waiting_jobs{class}, the signal KEDA scales the worker classes on, from two real dispatchers
// on one Redis, then through a real Prometheus with the query of infra/k8s's ScaledObjects.
//
// `slow` runs on gpu only, `shared` on gpu or cpu, `tiny` on tpu only. One gpu worker (1 slot) runs,
// no cpu and no tpu worker: under sed-late the gpu runs one job, has one more in its queue
// (SED_LATE_PREFETCH=1) and the dispatchers hold the rest; `shared` jobs are held too (the gpu has no
// room, no cpu is live); `tiny` jobs are parked. Jobs take a minute, so nothing finishes meanwhile.
const CATALOG = parseCatalog({
  models: {
    slow: { gpu: { p50Ms: 60_000, p99Ms: 60_000 } },
    shared: { gpu: { p50Ms: 60_000, p99Ms: 60_000 }, cpu: { p50Ms: 60_000, p99Ms: 60_000 } },
    tiny: { tpu: { p50Ms: 10, p99Ms: 10 } },
  },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 1 },
    { id: 'cpu-0', class: 'cpu', slots: 1 },
    { id: 'tpu-0', class: 'tpu', slots: 1 },
  ],
});
const SLOW = 10;
const SHARED = 2;
const TINY = 3;

const redis = useRedis();
let config: Config;
let api: Api;
let apiUrl: string;
let workers: WorkerHost;
const dispatchers: Dispatcher[] = [];
let prometheus: ChildProcess | undefined;
let promDir: string | undefined;
const submitted: string[] = [];

async function submit(body: { model: string; input: number }): Promise<void> {
  submitted.push(await submitJob(apiUrl, body));
}

/** The value of each series of `name` on a dispatcher's /metrics, by its `class` label. */
async function scrape(dispatcher: Dispatcher, name: string): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${dispatcher.metricsPort}/metrics`)).text();
  const byClass: Record<string, number> = {};
  for (const match of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    const cls = /class="([^"]*)"/.exec(match[1] ?? '')?.[1];
    if (cls !== undefined) byClass[cls] = Number(match[2]);
  }
  return byClass;
}

beforeAll(async () => {
  config = redis.config({ SCHED_POLICY: 'sed-late', MAX_EXPECTED_WAIT_MS: '0', SHUTDOWN_TIMEOUT_MS: '500' });
  workers = await createWorkerHost({ ...config, WORKER_IDS: ['gpu-0'] }, { fleet: CATALOG });
  for (let i = 0; i < 2; i++) dispatchers.push(await createDispatcher(config, { fleet: CATALOG }));
  api = await createApi(config, { fleet: CATALOG });
  apiUrl = `http://127.0.0.1:${await api.listen()}`;
});

afterAll(async () => {
  prometheus?.kill('SIGTERM');
  if (promDir) rmSync(promDir, { recursive: true, force: true });
  // Cancelled, the running job stops at once: a worker host's close waits for a running job (BullMQ's
  // forced close after the drain deadline returns the graceful close already under way).
  await Promise.all(submitted.map((id) => fetch(`${apiUrl}/v1/jobs/${id}`, { method: 'DELETE' }).catch(() => undefined)));
  await api?.close();
  await workers?.close();
  await Promise.all(dispatchers.map((d) => d.close()));
});

describe('sched_waiting_jobs from two dispatchers', () => {
  it('counts held, queued-beyond-slots and parked jobs for each class that could serve them, the same in both dispatchers', async () => {
    for (let i = 0; i < SLOW; i++) await submit({ model: 'slow', input: i });
    // One runs; the other nine are in the gpu's queue beyond its slot, or held by either dispatcher.
    const expectGpu = { gpu: SLOW - 1, cpu: 0, tpu: 0 };
    await waitFor(async () => (await Promise.all(dispatchers.map((d) => scrape(d, 'sched_waiting_jobs')))).every((v) => JSON.stringify(v) === JSON.stringify(expectGpu)), 10_000, 'nine gpu jobs waiting');
    for (let i = 0; i < SHARED; i++) await submit({ model: 'shared', input: i });
    for (let i = 0; i < TINY; i++) await submit({ model: 'tiny', input: i });
    const expected = { gpu: SLOW - 1 + SHARED, cpu: SHARED, tpu: TINY };
    let seen: Record<string, number>[] = [];
    await waitFor(
      async () => (seen = await Promise.all(dispatchers.map((d) => scrape(d, 'sched_waiting_jobs')))).every((v) => JSON.stringify(v) === JSON.stringify(expected)),
      10_000,
      `waiting jobs ${JSON.stringify(expected)} in both dispatchers (saw ${JSON.stringify(seen)})`,
    );
    expect(seen).toEqual([expected, expected]);
    // What the older gauge shows: only jobs queued beyond a worker's slots, and the jobs each
    // dispatcher parked itself whose model one class alone serves. Held jobs are not in it.
    const backlog = await Promise.all(dispatchers.map((d) => scrape(d, 'sched_backlog_jobs')));
    expect(Math.max(...backlog.map((b) => b.gpu ?? 0))).toBeLessThan(expected.gpu);
    expect(backlog.map((b) => b.cpu)).toEqual([0, 0]);
  });

  it('through Prometheus, each ScaledObject query reads waiting + running once, however many dispatchers export it', async () => {
    promDir = mkdtempSync(join(tmpdir(), 'sched-waiting-'));
    const port = await freePort();
    const targets = [...dispatchers.map((d) => d.metricsPort), workers.metricsPort].map((p) => `"127.0.0.1:${p ?? 0}"`).join(', ');
    writeFileSync(
      join(promDir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: ["${join(REPO_ROOT, 'infra', 'prometheus', 'rules.yml')}"]`,
        `scrape_configs: [{ job_name: sched, static_configs: [{ targets: [${targets}] }] }]`,
      ].join('\n'),
    );
    prometheus = spawn('prometheus', [`--config.file=${join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(promDir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    const query = async (expr: string): Promise<number | null> => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(expr)}`).catch(() => null);
      if (res?.ok !== true) return null;
      const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
      const [first] = body.data.result;
      return first === undefined ? null : Number(first.value[1]);
    };
    await waitFor(async () => (await query('count(sched_waiting_jobs{class="gpu"})')) === 2, 20_000, 'both dispatchers scraped');
    await waitFor(async () => (await query('sum(sched_worker_busy_slots{class="gpu"})')) === 1, 20_000, 'the gpu worker scraped, one slot busy');

    const objects = readBase(join(REPO_ROOT, 'infra', 'k8s', 'base')).objects;
    const trigger = (name: string): string => {
      const spec = findObject(objects, 'ScaledObject', name)?.spec as { triggers: { metadata: { query: string } }[] };
      return spec.triggers[0]?.metadata.query ?? '';
    };
    // gpu: 11 waiting + 1 running; cpu: the 2 `shared` jobs, and no cpu worker (`or vector(0)`).
    expect(await query(trigger('worker-gpu'))).toBe(SLOW - 1 + SHARED + 1);
    expect(await query(trigger('worker-cpu'))).toBe(SHARED);
    // A sum over the dispatchers would count every waiting job twice.
    expect(await query('sum(sched_waiting_jobs{class="gpu"})')).toBe(2 * (SLOW - 1 + SHARED));
    await waitFor(async () => (await query('class:sched_demand_jobs:current{class="gpu"}')) === SLOW + SHARED, 10_000, 'the demand recording rule');
  });
});
