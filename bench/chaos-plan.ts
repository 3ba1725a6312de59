import type { Catalog, Rng } from '@sched/core';

export type ChaosAction = 'kill-worker-host' | 'kill-dispatcher' | 'restart-redis' | 'fill-redis';

export interface ChaosStep {
  /** ms after the load starts. */
  readonly atMs: number;
  readonly action: ChaosAction;
}

/**
 * The faults that happen once, at these fractions of the run: Redis filled first (while every
 * process is up, so each meets the refused writes), then restarted, then the dispatcher killed.
 */
const ONCE: readonly { readonly fraction: number; readonly action: ChaosAction }[] = [
  { fraction: 0.25, action: 'fill-redis' },
  { fraction: 0.42, action: 'restart-redis' },
  { fraction: 0.58, action: 'kill-dispatcher' },
];

export interface ChaosPlan {
  /** One after the other, each not before its time (a slow fault delays the next rather than overlapping it). */
  readonly once: readonly ChaosStep[];
  /** Every `killEveryS` s while the load runs, on their own clock. */
  readonly hostKills: readonly ChaosStep[];
}

/** What happens when in a run of `seconds`. */
export function chaosPlan(seconds: number, killEveryS = 10): ChaosPlan {
  const once = ONCE.map(({ fraction, action }) => ({ atMs: Math.round(seconds * 1000 * fraction), action }));
  const hostKills: ChaosStep[] = [];
  for (let at = killEveryS; at < seconds; at += killEveryS) hostKills.push({ atMs: at * 1000, action: 'kill-worker-host' });
  return { once, hostKills };
}

export interface HostLayout {
  readonly name: string;
  readonly workerIds: readonly string[];
}

/** The fleet's workers dealt round-robin over `hosts` worker hosts (`WORKER_IDS` each), so each host has a share of both classes where it can. */
export function hostLayout(fleet: Pick<Catalog, 'workers'>, hosts: number): HostLayout[] {
  if (fleet.workers.length < hosts) throw new RangeError(`the fleet has ${fleet.workers.length} workers, fewer than ${hosts} hosts`);
  const layout = Array.from({ length: hosts }, (_, i) => ({ name: `host-${i}`, workerIds: [] as string[] }));
  fleet.workers.forEach((worker, i) => layout[i % hosts]?.workerIds.push(worker.id));
  return layout;
}

/** A random one of `candidates` (the hosts running now), or undefined when none is. */
export function pickVictim<T>(candidates: readonly T[], rng: Rng): T | undefined {
  return candidates.length === 0 ? undefined : candidates[Math.floor(rng() * candidates.length)];
}
