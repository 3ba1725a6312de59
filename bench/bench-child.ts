import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, killOnExit } from '@sched/testkit';

/**
 * A benchmark's helper process (load client, raw BullMQ producer or worker, hello-world server)
 * and the bench talking over its stdout: one JSON object per line, each with an `event` name.
 */

export interface ChildMessage {
  readonly event: string;
  readonly [field: string]: unknown;
}

/** Child side: one message on stdout. */
export function emitEvent(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ ...fields, event })}\n`);
}

/** Child side: says why it cannot run (the bench reports it) and exits 2. */
export function exitWithError(message: string): never {
  emitEvent('error', { message });
  process.exit(2);
}

export class BenchChildError extends Error {
  constructor(
    readonly script: string,
    readonly reason: string,
  ) {
    super(`${script}: ${reason}`);
    this.name = 'BenchChildError';
  }
}

interface Waiter {
  readonly event: string;
  resolve(message: ChildMessage): void;
  reject(error: Error): void;
}

export class BenchChild {
  private readonly child: ChildProcess;
  private readonly inbox: ChildMessage[] = [];
  private readonly waiters: Waiter[] = [];
  private failure: BenchChildError | undefined;
  /** Resolves with the exit code (or signal name) once the process ends. */
  readonly exited: Promise<number | string>;

  /** Runs `bench/<script>` with tsx (sources, no build), from the repository root. */
  constructor(
    readonly script: string,
    args: readonly string[],
    nodeArgs: readonly string[] = [],
  ) {
    this.child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', '--conditions=@sched/source', join(REPO_ROOT, 'bench', script), ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    killOnExit(this.child);
    let pending = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      for (let newline = pending.indexOf('\n'); newline !== -1; newline = pending.indexOf('\n')) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line.startsWith('{')) this.deliver(JSON.parse(line) as ChildMessage);
      }
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.failure ??= new BenchChildError(script, `exited (${code ?? signal ?? '?'}) before the expected message`);
        for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure);
        resolve(code ?? signal ?? -1);
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** The next message named `event` (earlier ones of other names are dropped); rejects if the child fails first. */
  next(event: string, timeoutMs = 120_000): Promise<ChildMessage> {
    const index = this.inbox.findIndex((m) => m.event === event);
    if (index !== -1) return Promise.resolve(this.inbox.splice(0, index + 1)[index] as ChildMessage);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new BenchChildError(this.script, `no "${event}" within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        event,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** SIGTERM, then the exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }

  private deliver(message: ChildMessage): void {
    if (message.event === 'error') {
      this.failure = new BenchChildError(this.script, String(message.message));
      for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure);
      return;
    }
    const waiter = this.waiters.findIndex((w) => w.event === message.event);
    if (waiter === -1) this.inbox.push(message);
    else this.waiters.splice(waiter, 1)[0]?.resolve(message);
  }
}
