/**
 * `npm run chaos`: the cluster as deployed (redis-server, api, one dispatcher, three worker hosts:
 * each its own process) under open-loop load from three tenants at about 70 % of the fleet's
 * capacity, while worker hosts are killed with SIGKILL every 10 s (and restarted after the
 * dead-worker grace), the dispatcher is killed and restarted once, Redis is restarted once and
 * filled to maxmemory once; then every accepted job is drained and accounted for. Exits 1 when a
 * job was lost or stuck. See the README ("Chaos run") for how to read the table.
 *
 *   npm run chaos -- [--seconds 60] [--seed 1] [--rate <jobs/s>] [--drain 60] [--grace-ms 5000] [--keep-logs <dir>]
 */
import { parseArgs } from 'node:util';
import { formatChaosReport } from './chaos-report-format.js';
import { chaosPassed } from './chaos-report.js';
import { CHAOS_DEFAULTS, runChaos, type ChaosOptions } from './chaos-run.js';

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    process.stderr.write(`chaos: --${name}: expected a positive number, got "${text}"\n`);
    process.exit(2);
  }
  return value;
}

const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    seed: { type: 'string' },
    rate: { type: 'string' },
    drain: { type: 'string' },
    'grace-ms': { type: 'string' },
    'keep-logs': { type: 'string' },
  },
});
const options: ChaosOptions = {
  seconds: positive('seconds', values.seconds, CHAOS_DEFAULTS.seconds),
  seed: positive('seed', values.seed, CHAOS_DEFAULTS.seed),
  ratePerS: values.rate === undefined ? undefined : positive('rate', values.rate, 0),
  drainS: positive('drain', values.drain, CHAOS_DEFAULTS.drainS),
  deadWorkerGraceMs: positive('grace-ms', values['grace-ms'], CHAOS_DEFAULTS.deadWorkerGraceMs),
  keepLogs: values['keep-logs'],
  log: (line) => process.stdout.write(`${line}\n`),
};
const { report, startedAt, ratePerS, capacityPerS } = await runChaos(options);
const header = `Chaos run: ${options.seconds} s at ${ratePerS.toFixed(1)} jobs/s (${((100 * ratePerS) / capacityPerS).toFixed(0)} % of the default fleet's ${capacityPerS.toFixed(1)}), seed ${options.seed}, drain up to ${options.drainS} s, DEAD_WORKER_GRACE_MS ${options.deadWorkerGraceMs}`;
process.stdout.write(`\n${formatChaosReport(report, header, startedAt)}\n`);
process.exitCode = chaosPassed(report) ? 0 : 1;
