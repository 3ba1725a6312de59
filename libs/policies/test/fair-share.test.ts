import fc from 'fast-check';
import { BULLMQ_PRIORITY, PRIORITY_BAND_STEPS } from '@sched/core';
import { Batcher } from '@sched/exec';
import { describe, expect, it } from 'vitest';
import { FAIR_REBASE_STEPS, FairBand, fairRank, workerQueuePriority } from '../src/index.js';

/** A band of held jobs served one at a time in start-tag order: who runs, in order. */
function serveInOrder(band: FairBand, arrivals: readonly { owner: string; cost: number; weight: number }[], serve: number): string[] {
  const waiting: { owner: string; start: number; seq: number }[] = [];
  arrivals.forEach(({ owner, cost, weight }, seq) => {
    const head = waiting.length === 0 ? null : Math.min(...waiting.map((job) => job.start));
    waiting.push({ owner, start: band.holdTag(owner, head, cost, weight), seq });
  });
  waiting.sort((a, b) => a.start - b.start || a.seq - b.seq);
  return waiting.slice(0, serve).map((job) => job.owner);
}

describe('FairBand', () => {
  it('serves two backlogged tenants by weight (3:1), whoever sent first', () => {
    const band = new FairBand();
    // A sends 400 jobs before B sends its 400: in arrival order A would have the first 400 places.
    const arrivals = [...Array.from({ length: 400 }, () => ({ owner: 'a', cost: 10, weight: 1 })), ...Array.from({ length: 400 }, () => ({ owner: 'b', cost: 10, weight: 3 }))];
    const first = serveInOrder(band, arrivals, 400);
    const b = first.filter((owner) => owner === 'b').length;
    expect(b).toBeGreaterThanOrEqual(297);
    expect(b).toBeLessThanOrEqual(303);
  });

  it('gives a tenant within its share a tag at V: ahead of a backlog sent before it', () => {
    const band = new FairBand();
    let head: number | null = null;
    for (let i = 0; i < 1000; i++) {
      const start = band.holdTag('a', head, 5, 1);
      head ??= start;
    }
    expect(band.holdTag('b', head, 5, 1)).toBe(0);
    // A new job of B waits for B's job and A's work tagged below it.
    expect(band.waitMs('b')).toBe(10);
    // A's lead is its 1000 jobs' cost; a job of A waits for them, and now for B's job too (below A's tag).
    expect(band.waitMs('a')).toBe(5000 + 5);
  });

  it('starts a tenant back from idle at V: no credit for the idle time, no debt for an idle fleet used', () => {
    const band = new FairBand();
    band.holdTag('a', null, 100, 1);
    band.holdTag('a', 0, 100, 1);
    // Everything held has been bound (head null): V moves to the top tag given.
    expect(band.holdTag('b', null, 10, 1)).toBe(100);
    expect(band.holdTag('a', null, 10, 1)).toBe(200);
  });

  it('keeps one tenant in arrival order: its tags never go down', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double({ min: 0.001, max: 1000, noNaN: true }), fc.boolean()), { minLength: 1, maxLength: 300 }), (jobs) => {
        const band = new FairBand();
        let previous = -Infinity;
        const waiting: number[] = [];
        for (const [cost, startOne] of jobs) {
          if (startOne && waiting.length > 0) waiting.shift();
          const start = band.holdTag('solo', waiting[0] ?? null, cost, 1);
          expect(start).toBeGreaterThanOrEqual(previous);
          previous = start;
          waiting.push(start);
        }
      }),
    );
  });

  it('ranks a worker queue from its waiting head, and rebases a band busy for FAIR_REBASE_STEPS without changing its order', () => {
    const band = new FairBand();
    const queue = new Batcher<{ owner: string; sent: number; start: number }>();
    const cost = 64;
    let rebased = 0;
    let servedA = 0;
    const bWaits: number[] = [];
    const add = (owner: string, round: number): void => {
      const tag = band.queueTag(owner, queue.headRank(), cost, 1, round);
      if (tag.shift > 0) {
        queue.shiftRanks(tag.shift);
        rebased++;
      }
      queue.add({ owner, sent: round, start: tag.start }, 'm', round, tag.rank);
    };
    // One slot serving one job per round: A has a backlog of 100 and sends 3 jobs in 4 rounds, B the
    // fourth, so the queue never empties and its head moves up by one job's cost per round.
    for (let i = 0; i < 100; i++) add('a', 0);
    const rounds = Math.ceil((4.5 * FAIR_REBASE_STEPS) / cost);
    for (let round = 0; round < rounds; round++) {
      add(round % 4 === 0 ? 'b' : 'a', round);
      const job = queue.poll(round)?.items[0];
      if (job !== undefined) band.started(job.start);
      if (job?.owner === 'b') bWaits.push(round - job.sent);
      else if (job !== undefined) servedA++;
    }
    expect(rebased).toBeGreaterThanOrEqual(2);
    // B, within its share, runs at once every time, before and after each rebase; A gets the rest.
    expect(bWaits.length).toBe(Math.ceil(rounds / 4));
    expect(Math.max(...bWaits)).toBeLessThanOrEqual(1);
    expect(servedA).toBe(rounds - bWaits.length);
    expect(queue.headRank()).toBeLessThan(FAIR_REBASE_STEPS);
    expect(queue.size).toBe(100);
  });

  it('without the rebase, a busy band would reach its end and lose the order', () => {
    // The same start tags as above, ranked from a fixed epoch: past PRIORITY_BAND_STEPS they all tie.
    expect(fairRank(3 * PRIORITY_BAND_STEPS, 0)).toBe(fairRank(2 * PRIORITY_BAND_STEPS, 0));
  });

  it('puts each priority in its own BullMQ band, and a rank past the band at its end', () => {
    expect(workerQueuePriority('high')).toBe(BULLMQ_PRIORITY.high);
    expect(workerQueuePriority('normal', 10)).toBe(BULLMQ_PRIORITY.normal + 10);
    expect(workerQueuePriority('high', 1e9)).toBeLessThan(BULLMQ_PRIORITY.normal);
    expect(workerQueuePriority('low', 1e9)).toBeLessThanOrEqual(2 ** 21);
    expect(fairRank(5.9, 2)).toBe(3);
    expect(fairRank(1, 2)).toBe(0);
  });
});
