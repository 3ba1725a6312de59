import { PRIORITIES, seededRng, type Priority, type Rng } from '@sched/core';

/** Shares of the priorities among simulated jobs. */
export interface PriorityMix {
  readonly priorities: readonly Priority[];
  /** Running sum of the normalised weights, one per priority (the last is 1). */
  readonly cumulative: readonly number[];
}

/** Deadlines carried by a fraction of the simulated jobs each; the rest carry none. */
export interface DeadlineMix {
  readonly deadlinesMs: readonly number[];
  /** Running sum of the fractions, one per deadline (at most 1). */
  readonly cumulative: readonly number[];
}

/** Splits `a=x,b=y` into pairs; a bare value (no `=`) is `[value, undefined]`. */
function pairs(text: string): [string, string | undefined][] {
  return text.split(',').map((part) => {
    const at = part.indexOf('=');
    return at === -1 ? [part.trim(), undefined] : [part.slice(0, at).trim(), part.slice(at + 1).trim()];
  });
}

/**
 * `high=0.1,normal=0.8,low=0.1`: each priority's weight (≥ 0; normalised, so `high=1,normal=8`
 * is the same mix). Priorities left out get none.
 */
export function parsePriorityMix(text: string): PriorityMix {
  const weights = new Map<Priority, number>();
  for (const [name, value] of pairs(text)) {
    const priority = PRIORITIES.find((p) => p === name);
    if (priority === undefined) throw new RangeError(`expected priority=weight with a priority of ${PRIORITIES.join(', ')}, got "${name}"`);
    if (weights.has(priority)) throw new RangeError(`priority "${priority}" is given twice`);
    const weight = Number(value);
    if (value === undefined || value === '' || !Number.isFinite(weight) || weight < 0) {
      throw new RangeError(`expected a weight ≥ 0 for "${priority}", got "${value ?? ''}" (form: high=0.1,normal=0.8,low=0.1)`);
    }
    weights.set(priority, weight);
  }
  const total = [...weights.values()].reduce((sum, w) => sum + w, 0);
  if (!(total > 0)) throw new RangeError('the weights add up to 0');
  // Kept in priority order, so the same mix always samples the same way.
  const priorities = PRIORITIES.filter((p) => (weights.get(p) ?? 0) > 0);
  let sum = 0;
  const cumulative = priorities.map((p) => (sum += (weights.get(p) ?? 0) / total));
  cumulative[cumulative.length - 1] = 1;
  return { priorities, cumulative };
}

/**
 * `500`: every job must finish within 500 ms of submission. `500=0.2,2000=0.3`: 20 % of the jobs
 * carry a 500 ms deadline and 30 % a 2 s one; the other 50 % none. Fractions in (0, 1], adding up
 * to at most 1.
 */
export function parseDeadlineMix(text: string): DeadlineMix {
  const entries = pairs(text);
  const deadlinesMs: number[] = [];
  const cumulative: number[] = [];
  let sum = 0;
  for (const [ms, fraction] of entries) {
    const deadlineMs = Number(ms);
    if (ms === '' || !Number.isFinite(deadlineMs) || deadlineMs <= 0) {
      throw new RangeError(`expected a deadline in ms > 0, got "${ms}" (form: 500, or 500=0.2,2000=0.3 for fractions of the jobs)`);
    }
    if (deadlinesMs.includes(deadlineMs)) throw new RangeError(`deadline ${deadlineMs} ms is given twice`);
    if (fraction === undefined && entries.length > 1) throw new RangeError(`give each deadline its fraction of the jobs (500=0.2,2000=0.3), got "${text}"`);
    const share = fraction === undefined ? 1 : Number(fraction);
    if (fraction === '' || !(share > 0 && share <= 1)) {
      throw new RangeError(`expected the fraction of jobs with a ${deadlineMs} ms deadline in (0, 1], got "${fraction ?? ''}"`);
    }
    sum += share;
    deadlinesMs.push(deadlineMs);
    cumulative.push(sum);
  }
  if (sum > 1 + 1e-9) throw new RangeError(`the fractions add up to ${Number(sum.toFixed(6))}, more than 1`);
  return { deadlinesMs, cumulative };
}

export function samplePriority(mix: PriorityMix, rng: Rng): Priority {
  const u = rng();
  const { cumulative, priorities } = mix;
  for (let i = 0; i < cumulative.length - 1; i++) if (u < (cumulative[i] as number)) return priorities[i] as Priority;
  return priorities[priorities.length - 1] as Priority;
}

/** A deadline in ms, or undefined for a job without one. */
export function sampleDeadline(mix: DeadlineMix, rng: Rng): number | undefined {
  const u = rng();
  const { cumulative, deadlinesMs } = mix;
  for (let i = 0; i < cumulative.length; i++) if (u < (cumulative[i] as number)) return deadlinesMs[i];
  return undefined;
}

/** What a simulated job carries besides its model. */
export interface JobTraits {
  priority: Priority;
  /** Ms from submission, or undefined for a job without a deadline. */
  deadlineMs: number | undefined;
}

/**
 * The traits of each job in arrival order, from the seed's own stream: the same for every policy,
 * and for a live run of the same arrivals (bench/live-vs-sim.ts submits with them). `out` is
 * refilled by each call.
 */
export function traitStream(seed: number, priorityMix: PriorityMix | undefined, deadlines: DeadlineMix | undefined): (out: JobTraits) => JobTraits {
  const rng = seededRng(seed ^ 0x3c6ef372);
  return (out) => {
    out.priority = priorityMix === undefined ? 'normal' : samplePriority(priorityMix, rng);
    out.deadlineMs = deadlines === undefined ? undefined : sampleDeadline(deadlines, rng);
    return out;
  };
}
