import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@sched/testkit';

/** What a generated table states about where and how it was made. */
export interface BenchEnvironment {
  /** ISO date and time of the run (UTC). */
  readonly date: string;
  readonly cores: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly redis: string;
  readonly bullmq: string;
}

/** The first `model name` of /proc/cpuinfo; `unknown` when there is none (not Linux, or an arm board without it). */
export function cpuModelOf(cpuinfo: string): string {
  return /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
}

/** `7.0.15` from `redis-server --version`'s `Redis server v=7.0.15 sha=…`. */
export function redisVersionOf(versionLine: string): string {
  return /\bv=(\S+)/.exec(versionLine)?.[1] ?? 'unknown';
}

/** Reads this machine's facts: /proc/cpuinfo, `redis-server --version`, the installed BullMQ. */
export function collectBenchEnvironment(now = new Date()): BenchEnvironment {
  const read = (path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  };
  const bullmq = (JSON.parse(read(join(REPO_ROOT, 'node_modules/bullmq/package.json')) || '{}') as { version?: string }).version ?? 'unknown';
  let redisLine = '';
  try {
    redisLine = execFileSync(process.env.REDIS_SERVER_BIN ?? 'redis-server', ['--version'], { encoding: 'utf8' });
  } catch {
    redisLine = '';
  }
  return {
    date: now.toISOString().replace(/\.\d+Z$/, 'Z'),
    cores: availableParallelism(),
    cpuModel: cpuModelOf(read('/proc/cpuinfo')),
    node: process.version,
    redis: redisVersionOf(redisLine),
    bullmq,
  };
}

/** The line above every generated table: when, on what, with which versions, and the command that made it. */
export function describeEnvironment(env: BenchEnvironment, command: string): string {
  return `_${env.date}; ${env.cores} cores (${env.cpuModel}); Node ${env.node}; redis-server ${env.redis}; BullMQ ${env.bullmq}. Made by \`${command}\`._`;
}
