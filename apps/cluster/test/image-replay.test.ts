import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { replayDockerfile } from './image/dockerfile-replay.js';

// The replay itself, on small Dockerfiles. The image's Node is a stand-in here (the image test runs
// the real one): a script that marks its environment, then runs this machine's node.

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A build context holding `files` (path → content; a value `-> target` makes a symbolic link), and the replay of its Dockerfile. */
async function replay(files: Record<string, string>) {
  const context = mkdtempSync(join(tmpdir(), 'sched-replay-ctx-'));
  const outDir = mkdtempSync(join(tmpdir(), 'sched-replay-out-'));
  dirs.push(context, outDir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(context, path, '..'), { recursive: true });
    if (content.startsWith('-> ')) symlinkSync(content.slice(3), join(context, path));
    else writeFileSync(join(context, path), content);
  }
  const standIn = join(outDir, 'stand-in-node');
  writeFileSync(standIn, `#!/bin/sh\nexport NODE_STAND_IN=yes\nexec ${process.execPath} "$@"\n`, { mode: 0o755 });
  const versions: string[] = [];
  const image = await replayDockerfile({
    dockerfile: join(context, 'Dockerfile'),
    context,
    outDir,
    nodeBinary: (version) => {
      versions.push(version);
      return Promise.resolve(standIn);
    },
  });
  return { image, versions, app: (path: string) => join(image.root, image.workdir, path) };
}

describe('the Dockerfile replay', () => {
  it('copies through .dockerignore and from earlier stages, keeps symbolic links, and runs RUN on the Node of the base image', async () => {
    const { image, versions, app } = await replay({
      Dockerfile: [
        'ARG NODE_VERSION=24.1.0',
        'FROM node:${NODE_VERSION}-slim AS build',
        'WORKDIR /src',
        'ENV GREETING=hello',
        'COPY pkg ./pkg',
        'RUN node -e "require(\'fs\').writeFileSync(\'ran\', process.env.GREETING + \' \' + process.env.NODE_STAND_IN)"',
        'FROM node:${NODE_VERSION}-slim',
        'WORKDIR /app',
        'COPY --from=build /src/pkg ./pkg',
        'COPY --from=build /src/ran ./',
        'USER node',
        'HEALTHCHECK --interval=5s CMD ["node", "check.js"]',
        'ENTRYPOINT ["node", "main.js"]',
      ].join('\n'),
      '.dockerignore': '**/dist\n',
      'pkg/index.js': 'export {};',
      'pkg/dist/out.js': 'built here, not copied',
      'pkg/link': '-> index.js',
    });
    expect(versions).toEqual(['24.1.0', '24.1.0']);
    expect(readFileSync(app('ran'), 'utf8')).toBe('hello yes');
    expect(existsSync(app('pkg/index.js'))).toBe(true);
    expect(existsSync(app('pkg/dist'))).toBe(false);
    expect(lstatSync(app('pkg/link')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(app('pkg/link'))).toBe('index.js');
    expect(image).toMatchObject({ workdir: '/app', user: 'node', env: {}, entrypoint: ['node', 'main.js'], cmd: [], nodeVersion: '24.1.0' });
    expect(image.healthcheck).toEqual({ command: ['node', 'check.js'], options: { interval: '5s' } });
  });

  it.each([
    ['an instruction it does not know', 'FROM node:24.1.0-slim\nVOLUME /data', /does not know this instruction/],
    ['a base image other than node:<exact version>', 'FROM node:24-slim', /node:<exact version>/],
    ['a COPY of a path .dockerignore excludes', 'FROM node:24.1.0\nCOPY secret.txt ./', /not in the context/],
    ['a wildcard', 'FROM node:24.1.0\nCOPY *.txt ./', /wildcards/],
    ['a RUN flag other than a cache mount', 'FROM node:24.1.0\nRUN --network=none true', /--network is not replayed/],
    ['an ENTRYPOINT in shell form', 'FROM node:24.1.0\nENTRYPOINT node main.js', /exec form/],
    ['a RUN that fails', 'FROM node:24.1.0\nRUN exit 3', /exited 3/],
  ])('refuses %s', async (_what, dockerfile, message) => {
    await expect(replay({ Dockerfile: dockerfile, '.dockerignore': 'secret.txt\n', 'secret.txt': 'no' })).rejects.toThrow(message);
  });
});
