// `npm start`: installs dependencies on a fresh checkout, then runs the local cluster.
// Plain JavaScript so it runs before anything is installed.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installIfFresh } from './install-if-fresh.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
installIfFresh(root);
const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@sched/source', 'apps/cluster/src/main.ts', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
// The terminal's Ctrl-C reaches the whole process group; forward signals sent to this process alone.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
