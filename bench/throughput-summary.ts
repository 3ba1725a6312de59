import { meanCommandsPerJob, pairedRatios, spreadOf, type CommandsPerJob, type Spread } from './bench-math.js';
import type { ClosedLoopMode } from './load-modes.js';

/** The load client's name among the measured processes (left out of the cluster's CPU total). */
export const LOAD_CLIENT = 'load client';

/** The bare two-hop floor (floor-pipeline.ts) driven by the same load modes. */
export type FloorSubject = 'floor-poll' | 'floor-prefer';

export type Subject = ClosedLoopMode | FloorSubject | 'raw';

/** One measured window of one subject. */
export interface ThroughputWindow {
  readonly round: number;
  readonly subject: Subject;
  readonly jobs: number;
  readonly seconds: number;
  readonly jobsPerS: number;
  readonly cpuMsPerJob: Readonly<Record<string, number>>;
  readonly commands: CommandsPerJob;
  /** Jobs that did not complete (an error answer, a failed or cancelled job), by kind; the drain after the window included. */
  readonly errors: Readonly<Record<string, number>>;
}

export interface SubjectSummary {
  readonly subject: Subject;
  readonly jobsPerS: Spread;
  /** This subject's jobs/s ÷ raw BullMQ's in the same round, over the rounds. */
  readonly ratioToRaw: Spread;
  /** Mean over the rounds, per process. */
  readonly cpuMsPerJob: Readonly<Record<string, number>>;
  /** Every process but the load client (for raw: producer, Worker, redis-server). */
  readonly cpuMsPerJobTotal: number;
  readonly commands: CommandsPerJob;
  /** Summed over the rounds. */
  readonly errors: number;
}

/** Means per subject; ratios paired round by round with raw BullMQ's window of the same round. */
export function summariseThroughput(windows: readonly ThroughputWindow[]): SubjectSummary[] {
  const subjects = [...new Set(windows.map((w) => w.subject))];
  const rawByRound = new Map(windows.filter((w) => w.subject === 'raw').map((w) => [w.round, w.jobsPerS]));
  return subjects.map((subject) => {
    const own = windows.filter((w) => w.subject === subject);
    const paired = own.filter((w) => rawByRound.has(w.round));
    const names = [...new Set(own.flatMap((w) => Object.keys(w.cpuMsPerJob)))];
    const cpuMsPerJob = Object.fromEntries(names.map((name) => [name, spreadOf(own.map((w) => w.cpuMsPerJob[name] ?? Number.NaN)).mean]));
    return {
      subject,
      jobsPerS: spreadOf(own.map((w) => w.jobsPerS)),
      ratioToRaw: spreadOf(pairedRatios(paired.map((w) => w.jobsPerS), paired.map((w) => rawByRound.get(w.round) ?? 0))),
      cpuMsPerJob,
      cpuMsPerJobTotal: Object.entries(cpuMsPerJob).filter(([name]) => name !== LOAD_CLIENT).reduce((sum, [, ms]) => sum + ms, 0),
      commands: meanCommandsPerJob(own.map((w) => w.commands)),
      errors: own.reduce((sum, w) => sum + Object.values(w.errors).reduce((a, b) => a + b, 0), 0),
    };
  });
}
