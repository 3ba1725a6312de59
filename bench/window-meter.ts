import { RedisCommandStats, diffCommandStats, type CommandStatsSnapshot } from '@sched/testkit';
import { commandsPerJob, cpuMsPerJob, type CommandsPerJob } from './bench-math.js';
import { cpuSeconds } from './bench-cluster.js';

/** What a measured window cost per job: CPU per named process (from /proc) and Redis commands (INFO commandstats). */
export interface WindowCost {
  readonly cpuMsPerJob: Readonly<Record<string, number>>;
  readonly commands: CommandsPerJob;
}

/**
 * Measures one window on a redis-server: CPU seconds of named processes and the server's command
 * counts at `begin()` and at `end(jobs)`, divided by the jobs completed in between.
 */
export class WindowMeter {
  private cpuBefore: Record<string, number> = {};
  private statsBefore: CommandStatsSnapshot | undefined;

  private constructor(private readonly stats: RedisCommandStats) {}

  static async connect(redisUrl: string): Promise<WindowMeter> {
    return new WindowMeter(await RedisCommandStats.connect(redisUrl));
  }

  async begin(processes: Readonly<Record<string, number>>): Promise<void> {
    this.cpuBefore = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, cpuSeconds(pid)]));
    this.statsBefore = await this.stats.snapshot();
  }

  async end(processes: Readonly<Record<string, number>>, jobs: number): Promise<WindowCost> {
    const cpu = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, cpuMsPerJob(cpuSeconds(pid) - (this.cpuBefore[name] ?? 0), jobs)]));
    const after = await this.stats.snapshot();
    if (this.statsBefore === undefined) throw new Error('WindowMeter.end before begin');
    return { cpuMsPerJob: cpu, commands: commandsPerJob(diffCommandStats(this.statsBefore, after), jobs) };
  }

  close(): void {
    this.stats.close();
  }
}
