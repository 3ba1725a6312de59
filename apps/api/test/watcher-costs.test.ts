import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySpace, parseCatalog } from '@sched/core';
import { closeRedis, createRedis } from '@sched/runtime';
import { RedisCommandStats, diffCommandStats, totalCalls } from '@sched/testkit';
import { useApi } from './use-api.js';

// The API alone: no dispatcher, so every job stays queued and every watcher idles. Redis commands
// per second are counted on the server (INFO commandstats), whatever sent them.

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 5, p99Ms: 5 }, cpu: { p50Ms: 20, p99Ms: 20 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 1 },
    { id: 'cpu-0', class: 'cpu', slots: 1 },
  ],
});
const ctx = useApi(fleet);
let stats: RedisCommandStats;
/** What the API sends with no watcher at all (its fleet refresh, every FLEET_REFRESH_MS = 200 ms here). */
let idleRate: number;
beforeAll(async () => {
  stats = await RedisCommandStats.connect(ctx.redisUrl);
  await sleep(300);
  idleRate = await commandsPerSecond(2000);
});
afterAll(() => stats.close());

const url = (path: string): string => `${ctx.cluster.apiUrl}${path}`;

/** Redis commands per second over `ms`. */
async function commandsPerSecond(ms: number): Promise<number> {
  const before = await stats.snapshot();
  await sleep(ms);
  const after = await stats.snapshot();
  if (process.env.SHOW_COMMANDS) console.log(diffCommandStats(before, after));
  return totalCalls(diffCommandStats(before, after)) / ((after.at - before.at) / 1000);
}

async function submit(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(url('/v1/jobs'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

describe('idle watchers', () => {
  it('50 long-polls on jobs with deadlines read nothing until a deadline can pass (before: ≈ 30 commands/s each)', async () => {
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => submit({ model: 'default', input: i, deadlineMs: 60_000 })));
    const clients = new AbortController();
    const polls = ids.map((id) => fetch(url(`/v1/jobs/${id}?wait=30`), { signal: clients.signal }).catch(() => undefined));
    await sleep(500);
    const rate = await commandsPerSecond(2000);
    clients.abort();
    await Promise.all(polls);
    console.log(`50 idle long-polls on jobs with deadlines: ${rate.toFixed(1)} Redis commands/s (idle API: ${idleRate.toFixed(1)})`);
    expect(rate - idleRate).toBeLessThan(5);
  });

  it('an SSE stream of a job with a deadline reads it once, when the deadline passes', async () => {
    const id = await submit({ model: 'default', input: 'sse', deadlineMs: 1500 });
    const clients = new AbortController();
    const res = await fetch(url(`/v1/jobs/${id}/events`), { signal: clients.signal });
    const text = res.text().catch(() => '');
    await sleep(300);
    const rate = await commandsPerSecond(800);
    expect(rate - idleRate).toBeLessThan(5);
    // It ends with the failure derived at the job's latest start (1500 − 5 ms after submission).
    expect(await text).toMatch(/event: failed\ndata: .*"deadline_exceeded"/);
    clients.abort();
  });

  it('20 fleet streams share one fleet read per second, and with none the fleet is not read', async () => {
    // Six workers in the fleet set, so a read of the fleet is a real one (a pipeline per worker).
    const redis = createRedis(ctx.redisUrl, 'service');
    const keys = keySpace(ctx.config.KEY_PREFIX);
    for (let i = 0; i < 6; i++) await redis.zadd(keys.fleetSet, Date.now(), `w-${i}`);
    await closeRedis(redis);

    const open = async (n: number): Promise<{ close(): void; events: () => number }> => {
      const clients = new AbortController();
      let events = 0;
      await Promise.all(
        Array.from({ length: n }, async () => {
          const res = await fetch(url('/v1/fleet/stream'), { signal: clients.signal });
          const reader = res.body?.getReader();
          void (async () => {
            for (;;) {
              const chunk = await reader?.read().catch(() => undefined);
              if (chunk === undefined || chunk.done) return;
              events += (new TextDecoder().decode(chunk.value as Uint8Array).match(/event: fleet/g) ?? []).length;
            }
          })();
        }),
      );
      return { close: () => clients.abort(), events: () => events };
    };

    const one = await open(1);
    await sleep(300);
    const oneRate = await commandsPerSecond(3000);
    one.close();
    const twenty = await open(20);
    await sleep(300);
    const twentyRate = await commandsPerSecond(3000);
    // Every stream still gets its event each second.
    expect(twenty.events()).toBeGreaterThanOrEqual(20 * 2);
    twenty.close();
    await sleep(300);
    const noneRate = await commandsPerSecond(2000);
    console.log(`fleet streams: 1 → ${oneRate.toFixed(1)}, 20 → ${twentyRate.toFixed(1)}, 0 → ${noneRate.toFixed(1)} Redis commands/s (idle API: ${idleRate.toFixed(1)})`);
    expect(oneRate - idleRate).toBeGreaterThan(10);
    expect(twentyRate).toBeLessThan(oneRate * 1.5);
    expect(noneRate - idleRate).toBeLessThan(2);
  });
});
