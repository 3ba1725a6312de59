import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@sched/testkit';

const run = promisify(execFile);

/** Where fetched Node binaries stay between runs (under node_modules: `npm ci` starts it afresh). */
const CACHE_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'image-node');

/**
 * The `node` binary of this exact version, for this machine's platform,
 * from the npm registry's `node-<platform>-<arch>` package (npm checks its integrity). Fetched
 * once, then read from the cache.
 */
export async function imageNodeBinary(version: string): Promise<string> {
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`expected an exact Node version such as 24.1.0, got ${JSON.stringify(version)}`);
  const spec = `node-${process.platform}-${process.arch}@${version}`;
  const dir = join(CACHE_DIR, spec);
  const binary = join(dir, 'bin', 'node');
  if (existsSync(binary)) return binary;

  mkdirSync(CACHE_DIR, { recursive: true });
  // Fetched and unpacked beside the cache entry, then renamed into place: a run stopped halfway
  // leaves no half-written binary behind.
  const scratch = mkdtempSync(join(CACHE_DIR, '.fetch-'));
  try {
    const { stdout } = await run('npm', ['pack', spec, '--pack-destination', scratch, '--json', '--silent'], { cwd: scratch, maxBuffer: 16 * 1024 * 1024 });
    const [packed] = JSON.parse(stdout) as { filename: string }[];
    if (packed === undefined) throw new Error(`npm pack ${spec} packed nothing`);
    const unpacked = join(scratch, 'unpacked');
    mkdirSync(unpacked);
    await run('tar', ['-xzf', join(scratch, packed.filename), '-C', unpacked, '--strip-components=1', 'package/bin/node']);
    try {
      renameSync(unpacked, dir);
    } catch (error) {
      // Another run put it there first.
      if (!existsSync(binary)) throw error;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return binary;
}
