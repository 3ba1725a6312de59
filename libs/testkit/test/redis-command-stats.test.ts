import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCommandStats, diffCommandStats, parseCommandStats, totalCalls } from '../src/index.js';
import { useRedis } from '../src/fixtures.js';

describe('parseCommandStats', () => {
  it('reads the calls of each cmdstat line, subcommands included, and ignores the rest', () => {
    const info = [
      '# Commandstats',
      'cmdstat_set:calls=3,usec=20,usec_per_call=6.67,rejected_calls=0,failed_calls=0',
      'cmdstat_client|setname:calls=1,usec=2,usec_per_call=2.00,rejected_calls=0,failed_calls=0',
      'cmdstat_evalsha:calls=12,usec=900,usec_per_call=75.00,rejected_calls=1,failed_calls=2',
      '',
    ].join('\r\n');
    expect(parseCommandStats(info)).toEqual({ set: 3, 'client|setname': 1, evalsha: 12 });
  });
});

describe('RedisCommandStats on a real redis-server', () => {
  const redis = useRedis();
  let stats: RedisCommandStats;
  let other: Redis;

  beforeAll(async () => {
    stats = await RedisCommandStats.connect(redis.url);
    other = new Redis(redis.url, { enableReadyCheck: false, lazyConnect: true });
    await other.connect();
  });
  afterAll(() => {
    stats.close();
    other.disconnect();
  });

  it('sees nothing between two snapshots when no one else runs a command: its own INFO calls are left out', async () => {
    const first = await stats.snapshot();
    await stats.snapshot();
    await stats.snapshot();
    const last = await stats.snapshot();
    expect(diffCommandStats(first, last)).toEqual({});
    expect(last.at).toBeGreaterThanOrEqual(first.at);
  });

  it("counts exactly what another client ran in between, the commands of its Lua scripts and its INFO included", async () => {
    const before = await stats.snapshot();
    await other.set('a', '1');
    await other.set('b', '2');
    await other.get('a');
    await other.eval("redis.call('set', KEYS[1], ARGV[1]); return redis.call('incr', KEYS[2])", 2, 'c', 'n', '3');
    await other.info('server');
    const middle = await stats.snapshot();
    await other.hset('h', 'f', 'v');
    const after = await stats.snapshot();
    const diff = diffCommandStats(before, after);
    expect(diff).toEqual({ set: 3, get: 1, eval: 1, incr: 1, info: 1, hset: 1 });
    expect(totalCalls(diff)).toBe(8);
    expect(diffCommandStats(middle, after)).toEqual({ hset: 1 });
  });

  it('keeps counting across several readers, each leaving out only its own INFO calls', async () => {
    const second = await RedisCommandStats.connect(redis.url);
    try {
      const before = await stats.snapshot();
      await second.snapshot();
      await second.snapshot();
      await other.del('a');
      const after = await stats.snapshot();
      // The second reader's two INFO calls are another client's, to the first reader.
      expect(diffCommandStats(before, after)).toEqual({ info: 2, del: 1 });
    } finally {
      second.close();
    }
  });
});
