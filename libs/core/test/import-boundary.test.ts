import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');

// A resolve hook in a child process records every module Node loads; the pure packages must
// not pull in the Redis runtime (bullmq, ioredis) or the logger (pino).
const probe = `
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(
  'export async function resolve(s, c, next) { const r = await next(s, c); ' +
  'if (/node_modules\\\\/(bullmq|ioredis|pino)\\\\//.test(r.url)) process.stdout.write("LOADED " + r.url + "\\\\n"); return r; }'));
await import(process.argv[1]);
process.stdout.write('IMPORTED\\n');
`;

function loadedBy(entry: string): string {
  return execFileSync(process.execPath, ['--conditions=@sched/source', '--import', 'tsx', '--input-type=module', '-e', probe, join(root, entry)], {
    cwd: root,
    encoding: 'utf8',
  });
}

describe('package boundaries', () => {
  it.each(['libs/core/src/index.ts', 'libs/policies/src/index.ts', 'libs/sim/src/index.ts', 'libs/client/src/index.ts', 'libs/exec/src/index.ts'])(
    '%s loads neither bullmq, ioredis nor pino',
    (entry) => {
      const output = loadedBy(entry);
      expect(output).toContain('IMPORTED');
      expect(output.split('\n').filter((line) => line.startsWith('LOADED'))).toEqual([]);
    },
  );

  it('the probe does see a runtime package load them', () => {
    expect(loadedBy('libs/runtime/src/index.ts')).toMatch(/LOADED .*node_modules\/bullmq\//);
  });
});
