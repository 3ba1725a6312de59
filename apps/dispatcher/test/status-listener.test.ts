import { keySpace, type StatusMessage } from '@sched/core';
import { describe, expect, it } from 'vitest';
import { StatusListener } from '../src/status-listener.js';
import { fleetView } from './fleet-fixture.js';

const keys = keySpace('test');

/** A listener over a real fleet view (gpu-0 with two jobs counted), recording what it asks of the rest. */
function setup(lateBinding = true) {
  const fleet = fleetView([{ id: 'gpu-0', class: 'gpu', slots: 2 }]);
  fleet.onDispatched('a', 'gpu-0', 100, 0, fleet.nextSendSeq());
  fleet.onDispatched('b', 'gpu-0', 100, 0, fleet.nextSendSeq());
  const calls: string[] = [];
  const warnings: string[] = [];
  const listener = new StatusListener({
    keys,
    fleet,
    holder: lateBinding ? { round: (worker) => calls.push(`round ${worker ?? ''}`), cancel: (id) => calls.push(`cancel ${id}`) } : null,
    refreshFleet: () => {
      calls.push('refresh');
      return Promise.resolve();
    },
    handOver: (worker) => calls.push(`hand over ${worker}`),
    logger: { warn: (_fields: unknown, message?: string) => warnings.push(message ?? '') },
    now: () => 5,
    otherRoundDelayMs: 5,
  });
  const depth = (): number => fleet.index.worker(fleet.index.indexOf('gpu-0')).depth;
  const status = (message: StatusMessage): void => listener.handle(keys.statusChannel, JSON.stringify(message));
  return { listener, fleet, calls, warnings, depth, status };
}

describe('StatusListener', () => {
  it('a job it sent finished: one job fewer there, then at once a round that may bind a held job to it', () => {
    const s = setup();
    s.status({ id: 'a', status: 'completed', worker: 'gpu-0', at: 1 });
    expect(s.depth()).toBe(1);
    s.status({ id: 'b', status: 'failed', worker: 'gpu-0', at: 1 });
    expect(s.depth()).toBe(0);
    expect(s.calls).toEqual(['round gpu-0', 'round gpu-0']);
  });

  it("another dispatcher's job finished: its round comes a moment later, after that dispatcher's own bind", async () => {
    const s = setup();
    s.status({ id: 'x', status: 'dispatched', worker: 'gpu-0', at: 1, attempt: 0 });
    s.status({ id: 'x', status: 'completed', worker: 'gpu-0', at: 2 });
    expect(s.calls).toEqual([]);
    await new Promise((r) => setTimeout(r, 20));
    expect(s.calls).toEqual(['round gpu-0']);
  });

  it('counts a send another dispatcher announces until it ends; its own announcements are not counted twice', () => {
    const s = setup();
    s.status({ id: 'x', status: 'dispatched', worker: 'gpu-0', at: 1, attempt: 0 });
    expect(s.depth()).toBe(3);
    s.status({ id: 'a', status: 'dispatched', worker: 'gpu-0', at: 1, attempt: 0 });
    expect(s.depth()).toBe(3);
    s.status({ id: 'x', status: 'completed', worker: 'gpu-0', at: 2 });
    expect(s.depth()).toBe(2);
  });

  it('a job whose send was never counted here (announced before it subscribed) leaves the count alone: the next read drops it', async () => {
    const s = setup();
    s.status({ id: 'sent-before', status: 'completed', worker: 'gpu-0', at: 1 });
    s.status({ id: 'also-before', status: 'failed', worker: 'gpu-0', retry: true, at: 1 });
    expect(s.depth()).toBe(2);
    // Still a chance to bind a held job, later: the read that follows may show the room.
    await new Promise((r) => setTimeout(r, 20));
    expect(s.calls).toEqual(['round gpu-0', 'round gpu-0']);
  });

  it('a failed attempt put back for a retry also frees the slot, but is not remembered as finished', () => {
    const s = setup();
    s.status({ id: 'b', status: 'failed', worker: 'gpu-0', retry: true, at: 1 });
    expect(s.depth()).toBe(1);
    expect(s.calls).toEqual(['round gpu-0']);
  });

  it('ignores status changes that free nothing: running, and a job without a worker', () => {
    const s = setup();
    s.status({ id: 'a', status: 'running', worker: 'gpu-0', at: 1 });
    s.status({ id: 'c', status: 'cancelled', at: 1 });
    expect(s.depth()).toBe(2);
    expect(s.calls).toEqual([]);
  });

  it('a worker joined: the fleet is re-read; draining or left: it gets no more jobs and its waiting ones are handed over at once', () => {
    const s = setup();
    s.listener.handle(keys.fleetChannel, JSON.stringify({ worker: 'gpu-1', event: 'joined', at: 1 }));
    expect(s.calls).toEqual(['refresh']);
    s.listener.handle(keys.fleetChannel, JSON.stringify({ worker: 'gpu-0', event: 'draining', at: 1 }));
    expect(s.fleet.index.eligible('m')).toEqual([]);
    s.listener.handle(keys.fleetChannel, JSON.stringify({ worker: 'gpu-0', event: 'left', at: 2 }));
    expect(s.calls).toEqual(['refresh', 'hand over gpu-0', 'hand over gpu-0']);
  });

  it('passes a cancel request to the holder, and listens for them only when it holds jobs', () => {
    const s = setup();
    s.listener.handle(keys.cancelChannel, 'job-1');
    expect(s.calls).toEqual(['cancel job-1']);
    expect(s.listener.channels).toEqual([keys.statusChannel, keys.fleetChannel, keys.cancelChannel]);
    expect(setup(false).listener.channels).toEqual([keys.statusChannel, keys.fleetChannel]);
  });

  it('logs a message it cannot read and goes on', () => {
    const s = setup();
    s.listener.handle(keys.statusChannel, '{not json');
    expect(s.warnings).toEqual(['bad pub/sub message']);
    s.status({ id: 'a', status: 'completed', worker: 'gpu-0', at: 1 });
    expect(s.depth()).toBe(1);
  });
});
