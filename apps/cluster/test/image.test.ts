import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@sched/client';
import { REPO_ROOT, freePort, killOnExit, testEnv, waitFor } from '@sched/testkit';
import { useRedis } from '@sched/testkit/fixtures';
import { replayDockerfile, type ReplayedImage } from './image/dockerfile-replay.js';
import { imageNodeBinary } from './image/image-node.js';

// No Docker engine runs here: the Dockerfile is replayed (every COPY and RUN, on the exact Node of
// its base image, fetched from npm), then the runtime stage's ENTRYPOINT and HEALTHCHECK run from
// the resulting tree against a real redis-server, as containers of the image would.

const redis = useRedis();
let outDir = '';
let image: ReplayedImage | undefined;
const started: ChildProcess[] = [];

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'sched-image-'));
  image = await replayDockerfile({ dockerfile: join(REPO_ROOT, 'Dockerfile'), context: REPO_ROOT, outDir, nodeBinary: imageNodeBinary });
  // What the replay costs, in CI's log: the slow steps.
  const slow = image.timings.filter((step) => step.ms >= 1000).map((step) => `${(step.ms / 1000).toFixed(1)} s  ${step.instruction}`);
  process.stdout.write(`image replay (Node ${image.nodeVersion}):\n  ${slow.join('\n  ')}\n`);
}, 600_000);

afterAll(async () => {
  const alive = started.filter((child) => child.exitCode === null && child.signalCode === null);
  for (const child of alive) child.kill('SIGKILL');
  await Promise.all(alive.map((child) => new Promise((resolve) => child.once('exit', resolve))));
  rmSync(outDir, { recursive: true, force: true });
});

function replayed(): ReplayedImage {
  if (image === undefined) throw new Error('the replay did not finish');
  return image;
}

interface ContainerProcess {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<number | string>;
}

/** A process of a container: the image's WORKDIR and environment (with `env` over it, as `docker run -e`), its Node first on PATH. */
function inContainer(command: readonly string[], env: Record<string, string>): ContainerProcess {
  const { root, workdir, nodeBinDir } = replayed();
  const [program = '', ...args] = command;
  const child = spawn(program, args, {
    cwd: join(root, workdir),
    env: { ...replayed().env, PATH: `${nodeBinDir}:/usr/bin:/bin`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  started.push(child);
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, output: () => text, exited };
}

/** `docker run -e … IMAGE`: the ENTRYPOINT and CMD. */
function runContainer(env: Record<string, string>): ContainerProcess {
  return inContainer([...replayed().entrypoint, ...replayed().cmd], env);
}

/** One run of the image's HEALTHCHECK in a container with this environment: its exit code and output. */
async function healthcheck(env: Record<string, string>): Promise<{ exit: number | string; output: string }> {
  const command = replayed().healthcheck?.command;
  if (command === undefined) throw new Error('the image has no HEALTHCHECK');
  const check = inContainer(command, env);
  return { exit: await check.exited, output: check.output() };
}

describe('the image (the Dockerfile replayed without Docker)', () => {
  it('is built on a Node LTS line newer than 20, and the replay ran that exact version', () => {
    const { nodeVersion, nodeBinDir } = replayed();
    const major = Number(nodeVersion.split('.')[0]);
    // Even majors become LTS; 20 left support in April 2026.
    expect(major % 2).toBe(0);
    expect(major).toBeGreaterThanOrEqual(22);
    const version = spawnSync(join(nodeBinDir, 'node'), ['--version'], { encoding: 'utf8' });
    expect(version.stdout.trim()).toBe(`v${nodeVersion}`);
  });

  it('holds the built apps and their production dependencies only, and runs as a non-root user', () => {
    const { root, workdir, user, env } = replayed();
    expect(['root', '0', '']).not.toContain(user.split(':')[0]);
    expect(env.NODE_ENV).toBe('production');
    const app = join(root, workdir);
    expect(readdirSync(app).sort()).toEqual(['apps', 'fleets', 'infra', 'libs', 'node_modules', 'package.json']);
    for (const group of ['apps', 'libs']) {
      for (const name of readdirSync(join(app, group))) {
        const entries = readdirSync(join(app, group, name));
        expect(entries.filter((entry) => entry !== 'package.json' && entry !== 'dist' && entry !== 'node_modules'), `${group}/${name}`).toEqual([]);
      }
    }
    for (const name of ['api', 'dispatcher', 'worker']) expect(existsSync(join(app, 'apps', name, 'dist', 'main.js')), name).toBe(true);
    // Development tools, test-only packages and the sources' toolchain stay in the build stage.
    for (const dev of ['typescript', 'turbo', 'tsx', 'vitest', 'eslint', '@types/node', 'fast-check', 'playwright-core', 'autocannon', 'dockerfile-ast']) {
      expect(existsSync(join(app, 'node_modules', dev)), `node_modules/${dev}`).toBe(false);
    }
  });

  it('runs the app APP names on that Node: the API, two dispatchers and a worker host complete jobs submitted over HTTP; the health check follows each app', async () => {
    const [apiPort, dispatcherPort1, dispatcherPort2, workerPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    // The image listens on every interface (HOST=0.0.0.0); on this shared machine, on loopback.
    const shared = testEnv(redis.url, { HOST: '127.0.0.1', API_PORT: String(apiPort), WORKER_METRICS_PORT: String(workerPort), LOG_LEVEL: 'info' });
    delete shared.API_HOST;
    const containers = {
      api: { ...shared, APP: 'api' },
      dispatcher1: { ...shared, APP: 'dispatcher', DISPATCHER_METRICS_PORT: String(dispatcherPort1) },
      dispatcher2: { ...shared, APP: 'dispatcher', DISPATCHER_METRICS_PORT: String(dispatcherPort2) },
      worker: { ...shared, APP: 'worker' },
    };
    // Nothing listens yet: the check fails.
    const early = await healthcheck(containers.api);
    expect(early.exit, early.output).toBe(1);
    expect(early.output).toMatch(/healthcheck: api at http:\/\/127\.0\.0\.1:\d+\/readyz/);

    const running = Object.values(containers).map((env) => runContainer(env));
    const withOutputs = (error: unknown): never => {
      throw new Error(`${String(error)}\n${running.map((c) => c.output()).join('\n')}`);
    };
    for (const [name, env] of Object.entries(containers)) {
      let last = { exit: -1 as number | string, output: '' };
      await waitFor(async () => (last = await healthcheck(env)).exit === 0, 30_000, `${name}'s health check to pass`).catch((error: unknown) => withOutputs(`${String(error)}: ${last.output}`));
    }

    const client = createClient({ baseUrl: `http://127.0.0.1:${apiPort}` });
    try {
      const submitted = await Promise.all(Array.from({ length: 12 }, (_, i) => client.submit({ model: i % 2 === 0 ? 'resnet50' : 'bert-base', input: `item-${i}` })));
      const views = await Promise.all(submitted.map(({ id }) => client.wait(id, { timeoutS: 20 }))).catch(withOutputs);
      for (const view of views) expect(view.status, JSON.stringify(view)).toBe('completed');
    } finally {
      await client.close();
    }

    // `docker stop` sends SIGTERM to the ENTRYPOINT's process: each app drains and exits 0.
    for (const container of running) container.child.kill('SIGTERM');
    expect(await Promise.all(running.map((c) => c.exited))).toEqual([0, 0, 0, 0]);
  }, 90_000);

  it('refuses an APP it does not know, and arguments, with one line and exit 2', async () => {
    const unknown = runContainer({ APP: 'scheduler' });
    expect(await unknown.exited).toBe(2);
    expect(unknown.output()).toBe('image: APP must be one of api, dispatcher, worker (got "scheduler")\n');
    const [program = '', ...args] = replayed().entrypoint;
    const withArgument = inContainer([program, ...args, 'dispatcher'], {});
    expect(await withArgument.exited).toBe(2);
    expect(withArgument.output()).toMatch(/^image: the app is chosen by APP/);
  });
});
