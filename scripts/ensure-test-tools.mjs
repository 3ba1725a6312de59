// Before `npm test` (its `pretest`) and in CI: the programs the tests run besides what `npm ci`
// installs. Each one found is left alone. Missing ones are installed from Debian when this
// process may do so (root, apt-get, a writable dpkg database); otherwise it stops at once with
// the one command to run. Then, on a fresh checkout, `npm ci`. Plain JavaScript, so it runs
// before anything is installed.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installIfFresh } from './install-if-fresh.mjs';

/** Each tool: how to find it, and the Debian package that provides it. */
const TOOLS = [
  // Every integration test starts its own redis-server on a free port.
  { name: 'redis-server', found: () => runnable(process.env.REDIS_SERVER_BIN || 'redis-server'), apt: 'redis-server' },
  // The metrics tests run the real Prometheus and promtool.
  { name: 'prometheus and promtool', found: () => runnable('prometheus') && runnable('promtool'), apt: 'prometheus' },
  // The browser tests drive Debian's headless Chromium (or CHROMIUM_BIN) with playwright-core.
  { name: 'chromium', found: () => runnable(process.env.CHROMIUM_BIN || '/usr/bin/chromium'), apt: 'chromium' },
  // The compose test validates docker-compose.yml with `docker-compose config` and the Alertmanager config with amtool.
  { name: 'docker-compose', found: () => runnable('docker-compose'), apt: 'docker-compose' },
  { name: 'amtool', found: () => runnable('amtool'), apt: 'prometheus-alertmanager' },
];

/** An executable file: a path as given, or a bare name looked up on PATH. */
function runnable(command) {
  const candidates = command.includes('/') ? [command] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, command));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Root, apt-get on PATH, and a dpkg database it may write (not a read-only system). */
function mayInstall() {
  if (process.getuid?.() !== 0 || !runnable('apt-get')) return false;
  try {
    accessSync('/var/lib/dpkg', constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function aptGet(args) {
  const run = spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return run.status === 0;
}

const missing = () => TOOLS.filter((tool) => !tool.found());
const names = (tools) => tools.map((tool) => tool.name).join(', ');
const packages = (tools) => tools.map((tool) => tool.apt).join(' ');

let absent = missing();
if (absent.length > 0 && mayInstall()) {
  process.stdout.write(`test tools: installing ${packages(absent)} with apt-get (missing: ${names(absent)})\n`);
  if (aptGet(['update', '-qq']) && aptGet(['install', '-y', '-qq', '--no-install-recommends', ...absent.map((tool) => tool.apt)])) {
    absent = missing();
  }
}
if (absent.length > 0) {
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  process.stderr.write(
    `test tools: missing ${names(absent)}; install with \`${sudo}apt-get install -y --no-install-recommends ${packages(absent)}\` (Debian/Ubuntu) or put them on the PATH (CHROMIUM_BIN and REDIS_SERVER_BIN name other binaries), then run npm test again\n`,
  );
  process.exit(1);
}
installIfFresh(join(dirname(fileURLToPath(import.meta.url)), '..'));
