import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./fixtures/faulty-main.ts', import.meta.url));

describe('runMain', () => {
  it('logs an unhandled rejection at fatal, stops the app through its normal stop, and exits 1', async () => {
    const child = spawn(process.execPath, ['--conditions=@sched/source', '--import', 'tsx', FIXTURE], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    const lines = stdout.split('\n').filter((line) => line.startsWith('{'));
    const fatal = lines.map((line) => JSON.parse(line) as { level: number; msg: string; err?: { message: string } }).find((entry) => entry.level === 60);
    expect(fatal?.msg).toBe('unhandled promise rejection; stopping');
    expect(fatal?.err?.message).toContain('boom');
    expect(stdout).toContain('stopped cleanly');
  }, 30_000);
});
