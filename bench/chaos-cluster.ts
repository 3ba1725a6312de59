import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { INGRESS_QUEUE, keySpace, loadConfig, workerQueueName, type KeySpace } from '@sched/core';
import { RedisServer, freePort, spawnApp, waitFor, type AppName, type SpawnedApp } from '@sched/testkit';
import type { UnexpectedExit } from './chaos-report.js';
import type { HostLayout } from './chaos-plan.js';

/** The log line each app writes once it is ready. */
const READY: Partial<Record<AppName, string>> = { api: 'api listening', dispatcher: 'dispatcher started', worker: 'worker host started' };

/** The last `lines` lines a process wrote. */
function tail(text: string, lines = 12): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * One app process the harness starts, kills with SIGKILL and starts again. An exit the harness did
 * not cause is a finding: it is recorded and the process started again, so the run goes on.
 */
class ManagedProcess {
  private current: SpawnedApp | null = null;
  private expectingExit = false;
  /** Every incarnation's output, for the logs of a finding. */
  private readonly outputs: SpawnedApp[] = [];

  constructor(
    readonly name: string,
    private readonly app: AppName,
    private readonly env: Record<string, string>,
    private readonly onUnexpectedExit: (exit: UnexpectedExit) => void,
  ) {}

  get running(): boolean {
    return this.current !== null;
  }

  get pid(): number {
    return this.current?.child.pid ?? 0;
  }

  async start(): Promise<void> {
    const spawned = spawnApp(this.app, this.env);
    this.current = spawned;
    this.outputs.push(spawned);
    this.expectingExit = false;
    void spawned.exited.then((code) => {
      if (this.current !== spawned) return;
      this.current = null;
      if (this.expectingExit) return;
      this.onUnexpectedExit({ process: this.name, at: Date.now(), code, tail: tail(spawned.output()) });
      void this.start().catch(() => undefined);
    });
    const ready = READY[this.app] ?? '';
    await waitFor(() => spawned.output().includes(ready) || this.current !== spawned, 60_000, `${this.name} to start`);
  }

  /** kill -9; resolves once the process is gone. */
  kill(): Promise<void> {
    return this.signal('SIGKILL');
  }

  /** SIGTERM (a graceful stop), for the end of the run. */
  stop(): Promise<void> {
    return this.signal('SIGTERM');
  }

  /** Sends `signal` to the running incarnation (an exit the run expects); resolves once it is gone. */
  private async signal(signal: NodeJS.Signals): Promise<void> {
    const spawned = this.current;
    if (spawned === null) return;
    this.expectingExit = true;
    spawned.child.kill(signal);
    await spawned.exited;
  }

  /** Everything every incarnation wrote. */
  output(): string {
    return this.outputs.map((app) => app.output()).join('\n');
  }
}

export interface ChaosClusterOptions {
  readonly fleetFile: string;
  readonly hosts: readonly HostLayout[];
  readonly apiKeys: readonly string[];
  /** Directory for each host's EXECUTION_LOG file. */
  readonly logDir: string;
  /** Variables for every app on top of the harness's own (timers, policy). */
  readonly env: Record<string, string>;
}

/**
 * The cluster as deployed: its own redis-server (append-only file, `appendfsync everysec`), one API,
 * one dispatcher and a worker host per layout entry, each its own process.
 */
export class ChaosCluster {
  readonly unexpectedExits: UnexpectedExit[] = [];
  readonly hosts: ReadonlyMap<string, { readonly layout: HostLayout; readonly process: ManagedProcess }>;
  readonly api: ManagedProcess;
  readonly dispatcher: ManagedProcess;
  /** The harness's own connection, for faults (CONFIG SET) and reading queues. */
  readonly admin: Redis;
  private readonly keys: KeySpace;

  private constructor(
    readonly redis: RedisServer,
    readonly apiUrl: string,
    readonly options: ChaosClusterOptions,
    env: Record<string, string>,
  ) {
    const record = (exit: UnexpectedExit): void => {
      this.unexpectedExits.push(exit);
    };
    this.api = new ManagedProcess('api', 'api', env, record);
    this.dispatcher = new ManagedProcess('dispatcher', 'dispatcher', env, record);
    this.hosts = new Map(
      options.hosts.map((layout) => {
        const hostEnv = { ...env, WORKER_IDS: layout.workerIds.join(','), EXECUTION_LOG: join(options.logDir, `${layout.name}.log`) };
        return [layout.name, { layout, process: new ManagedProcess(layout.name, 'worker', hostEnv, record) }];
      }),
    );
    this.keys = keySpace(loadConfig(env).KEY_PREFIX);
    this.admin = new Redis(redis.url, { maxRetriesPerRequest: 1, connectionName: 'chaos-harness' });
    this.admin.on('error', () => undefined);
  }

  static async start(options: ChaosClusterOptions): Promise<ChaosCluster> {
    const redis = await RedisServer.start({ appendOnly: true });
    const apiPort = await freePort();
    const env = {
      REDIS_URL: redis.url,
      FLEET_FILE: options.fleetFile,
      API_HOST: '127.0.0.1',
      API_PORT: String(apiPort),
      API_KEYS: options.apiKeys.join(','),
      DISPATCHER_METRICS_PORT: '0',
      WORKER_METRICS_PORT: '0',
      LOG_LEVEL: 'info',
      ...options.env,
    };
    const cluster = new ChaosCluster(redis, `http://127.0.0.1:${apiPort}`, options, env);
    await Promise.all([cluster.api.start(), cluster.dispatcher.start(), ...[...cluster.hosts.values()].map((host) => host.process.start())]);
    return cluster;
  }

  /** Hosts running now, by name. */
  runningHosts(): string[] {
    return [...this.hosts.entries()].filter(([, host]) => host.process.running).map(([name]) => name);
  }

  /** True once none of these workers has a descriptor (their heartbeats expired). */
  async descriptorsGone(workerIds: readonly string[]): Promise<boolean> {
    return (await this.admin.exists(...workerIds.map((id) => this.keys.workerDescriptor(id)))) === 0;
  }

  /** Ids of the jobs waiting, running or delayed in these workers' queues. */
  async queuedJobIds(workerIds: readonly string[]): Promise<string[]> {
    const { keys } = this;
    const pipeline = this.admin.pipeline();
    for (const id of workerIds) {
      const queue = workerQueueName(id);
      pipeline.lrange(keys.queueKey(queue, 'wait'), 0, -1);
      pipeline.lrange(keys.queueKey(queue, 'active'), 0, -1);
      pipeline.zrange(keys.queueKey(queue, 'prioritized'), 0, -1);
      pipeline.zrange(keys.queueKey(queue, 'delayed'), 0, -1);
    }
    const results = (await pipeline.exec()) ?? [];
    return results.flatMap(([error, ids]) => (error === null && Array.isArray(ids) ? (ids as string[]) : []));
  }

  /** What Redis holds for a job now: its idempotency record, ingress job, route, worker job, terminal record and listing entry. */
  async jobState(id: string): Promise<string> {
    const { keys } = this;
    const [idem, ingress, route, terminal, listed] = await Promise.all([
      this.admin.exists(keys.idempotency(id)),
      this.admin.exists(keys.jobHash(INGRESS_QUEUE, id)),
      this.admin.get(keys.route(id)),
      this.admin.exists(keys.terminal(id)),
      this.admin.zscore(keys.jobIndex, id),
    ]);
    const workerJob = route === null ? 'no' : (await this.admin.exists(keys.jobHash(workerQueueName(route), id))) === 1 ? 'yes' : 'no';
    return [
      `idempotency record ${idem === 1 ? 'yes' : 'no'}`,
      `ingress job ${ingress === 1 ? 'yes' : 'no'}`,
      `route ${route ?? 'no'}`,
      `worker job ${workerJob}`,
      `terminal record ${terminal === 1 ? 'yes' : 'no'}`,
      `in the listing index ${listed === null ? 'no' : 'yes'}`,
    ].join(', ');
  }

  /** Stops Redis with SIGTERM (it writes and syncs its append-only file) and starts it again on the same port and directory; the ms each took. */
  async restartRedis(): Promise<{ stopMs: number; startMs: number }> {
    const stopping = Date.now();
    await this.redis.stop('SIGTERM');
    const starting = Date.now();
    // On a busy machine loading the append-only file can outlast the test kit's 10 s start-up wait; the server keeps starting.
    await this.redis.restart().catch(() => waitFor(async () => (await this.admin.ping().catch(() => '')) === 'PONG', 300_000, 'Redis to load its data'));
    return { stopMs: starting - stopping, startMs: Date.now() - starting };
  }

  /**
   * Sets maxmemory just above what Redis uses now, with `noeviction`, so writes that need memory
   * are refused with OOM for `holdMs`; then lifts the limit. Resolves with the OOM errors Redis
   * answered meanwhile (INFO errorstats).
   */
  async fillRedis(holdMs: number): Promise<{ usedBytes: number; oomErrors: number }> {
    const before = await this.oomErrors();
    const info = await this.admin.info('memory');
    const usedBytes = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
    await this.admin.config('SET', 'maxmemory-policy', 'noeviction');
    await this.admin.config('SET', 'maxmemory', String(usedBytes + 64 * 1024));
    await new Promise((resolve) => setTimeout(resolve, holdMs));
    await this.admin.config('SET', 'maxmemory', '0');
    return { usedBytes, oomErrors: (await this.oomErrors()) - before };
  }

  private async oomErrors(): Promise<number> {
    const info = await this.admin.info('errorstats');
    return Number(/errorstat_OOM:count=(\d+)/.exec(info)?.[1] ?? 0);
  }

  /** Stops everything; with `logsTo`, first writes each process's output (every incarnation) to `<name>.log` there. */
  async close(logsTo?: string): Promise<void> {
    const all = [this.api, this.dispatcher, ...[...this.hosts.values()].map((host) => host.process)];
    await Promise.all(all.map((process) => process.stop()));
    if (logsTo !== undefined) {
      mkdirSync(logsTo, { recursive: true });
      for (const process of all) writeFileSync(join(logsTo, `${process.name}.log`), process.output());
    }
    this.admin.disconnect();
    await this.redis.destroy();
  }
}
