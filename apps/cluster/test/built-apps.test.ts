import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@sched/client';
import { REPO_ROOT, builtMain, freePort, spawnApp, testEnv, waitFor, type SpawnedApp } from '@sched/testkit';
import { useRedis } from '@sched/testkit/fixtures';

// What the container runs (`node apps/<app>/dist/main.js`), started as plain node processes.
// The build runs first, through turbo: a cache hit when `npm run build` ran before (CI does),
// a real build otherwise, so this test never runs a missing or stale dist/ and never skips.
beforeAll(() => {
  const build = spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'turbo'), ['run', 'build', '--output-logs=errors-only'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`npm run build failed (${build.status ?? build.signal}):\n${build.stdout}${build.stderr}`);
}, 600_000);

const redis = useRedis();
const running: SpawnedApp[] = [];

afterAll(async () => {
  for (const app of running) app.child.kill('SIGKILL');
  await Promise.all(running.map((app) => app.exited));
});

interface PackageJson {
  name: string;
  exports?: Record<string, Record<string, string>>;
}

function workspacePackages(): { dir: string; manifest: PackageJson }[] {
  return ['libs', 'apps'].flatMap((group) =>
    readdirSync(join(REPO_ROOT, group)).map((name) => {
      const dir = join(REPO_ROOT, group, name);
      return { dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson };
    }),
  );
}

describe('the build (npm run build)', () => {
  it('gives every export of every package a built file for node, and keeps the sources for tsx and vitest', () => {
    const packages = workspacePackages();
    expect(packages.length).toBeGreaterThanOrEqual(12);
    for (const { dir, manifest } of packages) {
      for (const [subpath, conditions] of Object.entries(manifest.exports ?? {})) {
        const where = `${manifest.name} ${subpath}`;
        // Plain node (no condition) takes `default`: a built file; tsx and vitest take `@sched/source`.
        expect(conditions.default, where).toMatch(/^\.\/dist\/.+\.js$/);
        expect(conditions.types, where).toMatch(/^\.\/dist\/.+\.d\.ts$/);
        expect(conditions['@sched/source'], where).toMatch(/^\.\/src\/.+\.ts$/);
        for (const file of [conditions.default, conditions.types, conditions['@sched/source']]) {
          expect(existsSync(join(dir, file ?? '')), `${where}: ${file}`).toBe(true);
        }
      }
    }
  });

  it('runs the api, the dispatcher and the worker host as plain node processes: a job submitted over HTTP completes', async () => {
    const apiPort = await freePort();
    const env = {
      ...testEnv(redis.url, { API_PORT: String(apiPort), FLEET_FILE: join(REPO_ROOT, 'fleets', 'default.json'), LOG_LEVEL: 'info' }),
      NODE_ENV: 'production',
    };
    for (const app of ['api', 'dispatcher', 'worker'] as const) {
      expect(existsSync(join(REPO_ROOT, builtMain(app))), builtMain(app)).toBe(true);
      running.push(spawnApp(app, env, { from: 'dist' }));
    }
    // A failure shows what the three processes wrote.
    const withOutputs = (error: unknown): never => {
      throw new Error(`${String(error)}\n${running.map((app) => app.output()).join('\n')}`);
    };
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await waitFor(async () => (await fetch(`${apiUrl}/readyz`).catch(() => null))?.status === 200, 20_000, 'the built API to be ready').catch(withOutputs);

    const client = createClient({ baseUrl: apiUrl });
    try {
      const { id } = await client.submit({ model: 'resnet50', input: 'cat.jpg' });
      const view = await client.wait(id, { timeoutS: 15 }).catch(withOutputs);
      expect(view).toMatchObject({ id, status: 'completed', result: { model: 'resnet50' } });
      expect(['gpu', 'cpu']).toContain(view.worker?.class);
    } finally {
      await client.close();
    }

    // SIGTERM, as `docker stop` sends it: each drains and exits 0.
    for (const app of running) app.child.kill('SIGTERM');
    expect(await Promise.all(running.map((app) => app.exited))).toEqual([0, 0, 0]);
  });
});
