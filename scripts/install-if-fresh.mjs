// A fresh checkout has no node_modules: `npm start` and `npm test` both run `npm ci` first, so
// either command alone is enough on a new machine. Plain JavaScript, with nothing to import.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Runs `npm ci` in `root` unless the tools both commands start with (tsx, turbo) are installed; exits on failure. */
export function installIfFresh(root) {
  if (['tsx', 'turbo'].every((bin) => existsSync(join(root, 'node_modules', '.bin', bin)))) return;
  process.stdout.write('Installing dependencies (npm ci)…\n');
  const install = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (install.status !== 0) process.exit(install.status ?? 1);
}
