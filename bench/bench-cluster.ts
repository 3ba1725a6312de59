import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@sched/client';
import { startLocalCluster, type LocalCluster } from '@sched/cluster';
import { loadConfig, type JobView } from '@sched/core';
import { RedisServer, freePort } from '@sched/testkit';
import { spawnApp, waitFor } from '@sched/testkit';

export interface BenchCluster {
  readonly cluster: LocalCluster;
  close(): Promise<void>;
}

/**
 * The local cluster as `npm start` runs it (api + dispatcher + workers in this process)
 * on its own redis-server, settled: first heartbeats and fleet read done.
 */
export async function startBenchCluster(fleetPath: string, policy: string, env: Record<string, string> = {}): Promise<BenchCluster> {
  const redis = await RedisServer.start({ appendOnly: false });
  const config = loadConfig({
    REDIS_URL: redis.url,
    FLEET_FILE: fleetPath,
    SCHED_POLICY: policy,
    API_HOST: '127.0.0.1',
    API_PORT: '0',
    DISPATCHER_METRICS_PORT: '0',
    WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
    ...env,
  });
  const cluster = await startLocalCluster(config);
  await new Promise((r) => setTimeout(r, 1500));
  return {
    cluster,
    close: async () => {
      await cluster.close();
      await redis.destroy();
    },
  };
}

/** Runs `npm run load -- <args> --url <url> --json` in its own process; resolves with its JSON report. */
export function runLoadClient<T>(args: readonly string[], url: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'load', '--', ...args, '--url', url, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`load client exited ${code}: ${out}`));
      else resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as T);
    });
  });
}

export interface SplitCluster {
  /** Process ids of the worker host, the dispatcher and the api. */
  readonly pids: readonly number[];
  readonly apiUrl: string;
  readonly dispatcherMetricsUrl: string;
  readonly redisUrl: string;
  /** The redis-server's process id. */
  readonly redisPid: number;
  close(): Promise<void>;
}

/**
 * The cluster as a deployment runs it: api, dispatcher and one worker host as three processes
 * (so they spread over both cores) on their own redis-server; resolves once all three are up.
 */
export async function startSplitCluster(fleetPath: string, policy: string, env: Record<string, string> = {}, nodeArgs: readonly string[] = []): Promise<SplitCluster> {
  const redis = await RedisServer.start({ appendOnly: false });
  const [apiPort, dispatcherPort] = [await freePort(), await freePort()];
  const common = {
    REDIS_URL: redis.url,
    FLEET_FILE: fleetPath,
    SCHED_POLICY: policy,
    LOG_LEVEL: 'warn',
    API_HOST: '127.0.0.1',
    API_PORT: String(apiPort),
    DISPATCHER_METRICS_PORT: String(dispatcherPort),
    WORKER_METRICS_PORT: '0',
    ...env,
  };
  const apps = (['worker', 'dispatcher', 'api'] as const).map((name) => ({ name, app: spawnApp(name, { ...common, LOG_LEVEL: 'info' }, { nodeArgs }) }));
  const started: Record<string, string> = { api: 'api listening', dispatcher: 'dispatcher started', worker: 'worker host started' };
  for (const { name, app } of apps) await waitFor(() => app.output().includes(started[name] ?? '?'), 30_000, `${name} to start`);
  await new Promise((r) => setTimeout(r, 1500));
  return {
    pids: apps.map(({ app }) => app.child.pid ?? 0),
    apiUrl: `http://127.0.0.1:${apiPort}`,
    dispatcherMetricsUrl: `http://127.0.0.1:${dispatcherPort}/metrics`,
    redisUrl: redis.url,
    redisPid: redis.pid ?? 0,
    close: async () => {
      for (const { app } of apps) app.child.kill('SIGTERM');
      await Promise.all(apps.map(({ app }) => app.exited));
      await redis.destroy();
    },
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at ") ".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}

/** The zero-latency fleet of the overhead benchmarks: 6 gpu workers × 50 slots at 1 ms, so the pipeline's own cost dominates. */
export const ZERO_LATENCY_FLEET = Object.freeze({
  models: { default: { gpu: { p50Ms: 1, p99Ms: 1 } } },
  workers: Array.from({ length: 6 }, (_, i) => ({ id: `gpu-${i}`, class: 'gpu', slots: 50 })),
});

/** A fleet file in a temp dir for one bench run; `remove()` deletes the dir. */
export function tempFleetFile(name: string, spec: unknown): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const path = join(dir, 'fleet.json');
  writeFileSync(path, JSON.stringify(spec));
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A closed loop: `clients` clients each submit a job of `model`, long-poll it to the end, and
 * submit the next, for `ms`; no job starts after that and the last ones are waited for.
 * `completed` counts every completed job, the drain included; `inWindow` holds the views of
 * those that finished within the window.
 */
export async function closedLoop(apiUrl: string, options: { clients: number; ms: number; model: string }): Promise<{ completed: number; inWindow: JobView[] }> {
  const client = createClient({ baseUrl: apiUrl, timeoutMs: 60_000 });
  const until = Date.now() + options.ms;
  const inWindow: JobView[] = [];
  let completed = 0;
  await Promise.all(
    Array.from({ length: options.clients }, async (_, c) => {
      for (let i = 0; Date.now() < until; i++) {
        const { id } = await client.submit({ model: options.model, input: `${c}-${i}` });
        const view = await client.wait(id, { timeoutS: 60 });
        if (view.status !== 'completed') continue;
        completed++;
        if (Date.parse(view.timings.finishedAt ?? '') <= until) inWindow.push(view);
      }
    }),
  );
  await client.close();
  return { completed, inWindow };
}
