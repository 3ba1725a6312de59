import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface SpawnedApp {
  readonly child: ChildProcess;
  /** Everything the app wrote so far (stdout + stderr). */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process ends. */
  readonly exited: Promise<number | string>;
}

export interface SpawnAppOptions {
  /**
   * `source` runs `src/main.ts` through tsx with the `@sched/source` condition (nothing to build);
   * `dist` runs `dist/main.js` with plain node, as the container does, so every package it
   * imports resolves to its built `dist/` (the build must have run).
   * @defaultValue 'source'
   */
  from?: 'source' | 'dist';
  /** Extra flags for node itself (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  nodeArgs?: readonly string[];
}

export type AppName = 'api' | 'dispatcher' | 'worker' | 'cluster';

/** The path of an app's built entry point, relative to the repository root. */
export function builtMain(app: AppName): string {
  return `apps/${app}/dist/main.js`;
}

/** Child processes (apps, redis-servers, bench helpers) still running; killed when this process exits, however it exits short of a signal (an uncaught error, EPIPE on stdout). */
const running = new Set<ChildProcess>();
let exitHook = false;
export function killOnExit(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const app of running) app.kill('SIGKILL');
  });
}

/** Runs an app as its own process, as a container would: configured only by environment. */
export function spawnApp(app: AppName, env: Record<string, string>, options: SpawnAppOptions = {}): SpawnedApp {
  const entry = options.from === 'dist' ? [builtMain(app)] : ['--import', 'tsx', '--conditions=@sched/source', `apps/${app}/src/main.ts`];
  const args = [...(options.nodeArgs ?? []), ...entry];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, output: () => text, exited };
}

/** Waits until `predicate` holds, polling every 20 ms. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
