import type { CommandCounts } from '@sched/testkit';

/** Mean, lowest and highest of repeated measurements of one figure. */
export interface Spread {
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** The spread of `values`; NaN throughout for none. */
export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0) return { mean: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  const sum = values.reduce((total, v) => total + v, 0);
  return { mean: sum / values.length, min: Math.min(...values), max: Math.max(...values), n: values.length };
}

/** `numerator ÷ denominator`, NaN when the denominator is not a positive number (nothing measured). */
export function ratioOf(numerator: number, denominator: number): number {
  return denominator > 0 && Number.isFinite(numerator) ? numerator / denominator : Number.NaN;
}

/** Ratios of paired measurements (round by round), for the spread of a ratio taken side by side. */
export function pairedRatios(numerators: readonly number[], denominators: readonly number[]): number[] {
  if (numerators.length !== denominators.length) throw new RangeError(`pairedRatios: ${numerators.length} numerators, ${denominators.length} denominators`);
  return numerators.map((n, i) => ratioOf(n, denominators[i] ?? 0));
}

/** CPU seconds spent over `jobs` jobs, as milliseconds per job. */
export function cpuMsPerJob(cpuSeconds: number, jobs: number): number {
  return ratioOf(cpuSeconds * 1000, jobs);
}

/** Redis commands per job: their total and the commands by calls per job, most first (ties by name). */
export interface CommandsPerJob {
  readonly total: number;
  readonly byCommand: readonly (readonly [string, number])[];
}

/** Calls made over a window (an `INFO commandstats` delta) divided by the jobs completed in it. */
export function commandsPerJob(delta: CommandCounts, jobs: number): CommandsPerJob {
  const byCommand = Object.entries(delta)
    .filter(([, calls]) => calls > 0)
    .map(([command, calls]) => [command, ratioOf(calls, jobs)] as const)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return { total: ratioOf(Object.values(delta).reduce((sum, calls) => sum + Math.max(0, calls), 0), jobs), byCommand };
}

/** Averages several windows' `commandsPerJob` command by command (a command missing from a window counts 0 there). */
export function meanCommandsPerJob(windows: readonly CommandsPerJob[]): CommandsPerJob {
  if (windows.length === 0) return { total: Number.NaN, byCommand: [] };
  const sums = new Map<string, number>();
  for (const window of windows) for (const [command, perJob] of window.byCommand) sums.set(command, (sums.get(command) ?? 0) + perJob);
  const byCommand = [...sums]
    .map(([command, sum]) => [command, sum / windows.length] as const)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return { total: spreadOf(windows.map((w) => w.total)).mean, byCommand };
}

/** The simulated service of an ended job: its view's finishedAt − startedAt in ms; undefined without both. */
export function serviceMs(timings: { readonly startedAt?: string | undefined; readonly finishedAt?: string | undefined }): number | undefined {
  if (timings.startedAt === undefined || timings.finishedAt === undefined) return undefined;
  const ms = Date.parse(timings.finishedAt) - Date.parse(timings.startedAt);
  return Number.isFinite(ms) ? ms : undefined;
}
