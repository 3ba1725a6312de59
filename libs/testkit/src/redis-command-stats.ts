import { Redis } from 'ioredis';

/** Calls per command (`get`, `evalsha`, `client|setname`, …), as `INFO commandstats` names them. */
export type CommandCounts = Readonly<Record<string, number>>;

/** The server's call counts at one moment, with the reader's own INFO calls taken out. */
export interface CommandStatsSnapshot {
  readonly calls: CommandCounts;
  /** `performance.now()` when the answer came back. */
  readonly at: number;
}

const COMMANDSTAT_LINE = /^cmdstat_([^:]+):calls=(\d+)/;

/** The `calls=` of each `cmdstat_<name>` line of an `INFO commandstats` answer. */
export function parseCommandStats(info: string): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const line of info.split('\n')) {
    const match = COMMANDSTAT_LINE.exec(line.trim());
    if (match?.[1] !== undefined) calls[match[1]] = Number(match[2]);
  }
  return calls;
}

/** Calls made between two snapshots, per command; commands with no calls in between are left out. */
export function diffCommandStats(before: CommandStatsSnapshot, after: CommandStatsSnapshot): Record<string, number> {
  const diff: Record<string, number> = {};
  for (const [command, calls] of Object.entries(after.calls)) {
    const made = calls - (before.calls[command] ?? 0);
    if (made > 0) diff[command] = made;
  }
  return diff;
}

/** The sum of a set of counts. */
export function totalCalls(counts: CommandCounts): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

/**
 * Reads a redis-server's `INFO commandstats` on a connection of its own. Redis counts a command
 * once it has run, so each snapshot's answer holds every INFO this reader sent before it; the
 * reader counts those and takes them out, so two snapshots of one reader differ only by what
 * other clients (and their Lua scripts: `redis.call` counts too) ran in between. INFO from
 * anyone else (BullMQ asks it once per new connection) stays in.
 */
export class RedisCommandStats {
  private infoCalls = 0;

  private constructor(private readonly redis: Redis) {}

  static async connect(url: string): Promise<RedisCommandStats> {
    // No ready check: it would send an INFO of its own, unseen by the count below.
    const redis = new Redis(url, { lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 1 });
    await redis.connect();
    return new RedisCommandStats(redis);
  }

  async snapshot(): Promise<CommandStatsSnapshot> {
    const before = this.infoCalls++;
    const calls = parseCommandStats(await this.redis.info('commandstats'));
    const info = (calls.info ?? 0) - before;
    if (info > 0) calls.info = info;
    else delete calls.info;
    return { calls, at: performance.now() };
  }

  close(): void {
    this.redis.disconnect();
  }
}
