import { parseArgs } from 'node:util';
import { POLICY_NAMES } from '@sched/core';
import { parseModelMix, type BatcherOptions, type ModelMix } from '@sched/exec';
import { parseDeadlineMix, parsePriorityMix, type DeadlineMix, type PriorityMix } from './job-traits.js';
import type { SimPolicyName } from './sim-types.js';
import { parseTenantMix, type TenantMix } from './tenant-mix.js';

export const SIM_POLICIES: readonly SimPolicyName[] = [...POLICY_NAMES, 'shared-queue'];
export const SWEEP_LOADS: readonly number[] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];

export const USAGE = `usage: npm run sim -- [options]
  --fleet F              fleet file, or default | prototype | heterogeneous (default: default)
  --fleet-size N         generate N workers in the fleet's class mix
  --policy P             ${SIM_POLICIES.join(' | ')} | all, or a comma list (default: all)
  --load X               offered load as a fraction of fleet capacity (default 0.8)
  --rate R               arrivals per second instead of --load
  --jobs N               jobs per run (default 200000; a trace replays all its rows)
  --mix M                model mix, model=weight,... (weights normalised), e.g. default=3,resnet50=1
                         (default: model "default", else the fleet's first)
  --bursty ON:OFF        on/off arrivals, mean on and off periods in ms (same mean rate)
  --trace F              replay a trace: .jsonl ({"t","model","size"?}) or the Azure .csv
  --trace-model M        model for every row of an Azure trace (required with a .csv)
  --speed S              trace speed factor (default: the one that gives --load)
  --slo-ms T             latency target for policy cost when a job has no deadline
  --priority-mix M       job priorities, priority=weight,... (weights normalised), e.g.
                         high=0.1,normal=0.8,low=0.1 (default: every job normal)
  --deadline-ms D        job deadlines in ms from submission: 500 (every job), or ms=fraction,...
                         e.g. 500=0.2,2000=0.3 (20 % of jobs 500 ms, 30 % 2 s, the rest none)
  --tenants M            tenants sending the jobs, name=share[:weight],... (shares of the arrivals,
                         normalised; weight 1 by default), e.g. a=10,b=1: prints each tenant's
                         p50 / p99 alone (the others' arrivals dropped) and shared
  --no-fair-share        with --tenants: jobs wait in arrival order whoever sent them
  --max-held N           jobs sed-late holds at most; beyond it the overflow is bound by sed
                         (live: DISPATCH_CONCURRENCY − 8 = 56; default: no limit)
  --batch C:B:D          batching for class C: maxBatch B, maxQueueDelayMs D (repeatable; B=1 turns it off)
  --refresh-ms T         dispatcher view refresh interval (default 1000)
  --completion-lag-ms T  delay before the view hears of a completion (default 0)
  --overhead-ms T        fixed live-pipeline cost added to every latency (default 0; ~10 measured live)
  --seed N               (default 1)
  --sweep                loads ${SWEEP_LOADS.join(', ')}; writes an SVG of p99 vs load
  --svg F                where --sweep writes its chart (default sim-sweep.svg)
  --json                 one JSON object per policy (per load with --sweep), one per line
  --no-progress          no progress bar`;

export interface CliOptions {
  readonly fleet: string;
  readonly fleetSize: number | undefined;
  readonly policies: readonly SimPolicyName[];
  readonly load: number;
  readonly rate: number | undefined;
  readonly jobs: number;
  readonly mix: ModelMix | undefined;
  readonly bursty: { readonly onMs: number; readonly offMs: number } | undefined;
  readonly trace: string | undefined;
  readonly traceModel: string | undefined;
  readonly speed: number | undefined;
  readonly sloMs: number | undefined;
  readonly priorityMix: PriorityMix | undefined;
  readonly deadlines: DeadlineMix | undefined;
  readonly maxHeld: number | undefined;
  readonly tenants: TenantMix | undefined;
  readonly fairShare: boolean;
  readonly batchingByClass: Readonly<Record<string, BatcherOptions>> | undefined;
  readonly refreshMs: number;
  readonly completionLagMs: number;
  readonly pipelineOverheadMs: number;
  readonly seed: number;
  readonly sweep: boolean;
  readonly svg: string;
  readonly json: boolean;
  readonly progress: boolean;
  readonly help: boolean;
}

export class CliUsageError extends Error {
  override name = 'CliUsageError';
}

function positive(flag: string, text: string | undefined, integer = false): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!(value > 0) || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new CliUsageError(`--${flag}: expected a positive ${integer ? 'integer' : 'number'}, got "${text}"`);
  }
  return value;
}

function nonNegative(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!(value >= 0) || !Number.isFinite(value)) throw new CliUsageError(`--${flag}: expected a number ≥ 0, got "${text}"`);
  return value;
}

function parsePolicies(text: string): SimPolicyName[] {
  if (text === 'all') return [...SIM_POLICIES];
  return text.split(',').map((name) => {
    const found = SIM_POLICIES.find((p) => p === name.trim());
    if (found === undefined) throw new CliUsageError(`--policy: expected ${SIM_POLICIES.join(', ')} or all, got "${name}"`);
    return found;
  });
}

/** Parses a flag's value with `parse`, turning its RangeError into a usage error naming the flag. */
function parseFlag<T>(flag: string, text: string | undefined, parse: (text: string) => T): T | undefined {
  if (text === undefined) return undefined;
  try {
    return parse(text);
  } catch (error) {
    if (error instanceof RangeError) throw new CliUsageError(`--${flag}: ${error.message}`);
    throw error;
  }
}

function parseBatching(specs: readonly string[]): Record<string, BatcherOptions> | undefined {
  if (specs.length === 0) return undefined;
  const byClass: Record<string, BatcherOptions> = {};
  for (const spec of specs) {
    const [cls = '', batch = '', delay = ''] = spec.split(':');
    const maxBatch = positive('batch', batch, true);
    if (cls === '' || maxBatch === undefined) throw new CliUsageError(`--batch: expected class:maxBatch:maxQueueDelayMs, got "${spec}"`);
    byClass[cls] = { maxBatch, maxQueueDelayMs: nonNegative('batch', delay === '' ? undefined : delay, 0) };
  }
  return byClass;
}

/** Validates the command line once; every problem is one line naming the flag. */
export function parseCliOptions(argv: readonly string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        fleet: { type: 'string', default: 'default' },
        'fleet-size': { type: 'string' },
        policy: { type: 'string', default: 'all' },
        load: { type: 'string', default: '0.8' },
        rate: { type: 'string' },
        jobs: { type: 'string', default: '200000' },
        mix: { type: 'string' },
        bursty: { type: 'string' },
        trace: { type: 'string' },
        'trace-model': { type: 'string' },
        speed: { type: 'string' },
        'slo-ms': { type: 'string' },
        'priority-mix': { type: 'string' },
        'deadline-ms': { type: 'string' },
        'max-held': { type: 'string' },
        tenants: { type: 'string' },
        'no-fair-share': { type: 'boolean', default: false },
        batch: { type: 'string', multiple: true, default: [] },
        'refresh-ms': { type: 'string', default: '1000' },
        'completion-lag-ms': { type: 'string', default: '0' },
        'overhead-ms': { type: 'string', default: '0' },
        seed: { type: 'string', default: '1' },
        sweep: { type: 'boolean', default: false },
        svg: { type: 'string', default: 'sim-sweep.svg' },
        json: { type: 'boolean', default: false },
        'no-progress': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new CliUsageError((error as Error).message);
  }
  const v = parsed.values;
  let bursty: CliOptions['bursty'];
  if (v.bursty !== undefined) {
    const [on, off] = v.bursty.split(':');
    const onMs = positive('bursty', on);
    const offMs = positive('bursty', off);
    if (onMs === undefined || offMs === undefined) throw new CliUsageError(`--bursty: expected ON_MS:OFF_MS, got "${v.bursty}"`);
    bursty = { onMs, offMs };
  }
  const seed = Number(v.seed);
  if (!Number.isInteger(seed)) throw new CliUsageError(`--seed: expected an integer, got "${v.seed}"`);
  return Object.freeze({
    fleet: v.fleet,
    fleetSize: positive('fleet-size', v['fleet-size'], true),
    policies: parsePolicies(v.policy),
    load: positive('load', v.load) as number,
    rate: positive('rate', v.rate),
    jobs: positive('jobs', v.jobs, true) as number,
    mix: parseFlag('mix', v.mix, parseModelMix),
    bursty,
    trace: v.trace,
    traceModel: v['trace-model'],
    speed: positive('speed', v.speed),
    sloMs: positive('slo-ms', v['slo-ms']),
    priorityMix: parseFlag('priority-mix', v['priority-mix'], parsePriorityMix),
    deadlines: parseFlag('deadline-ms', v['deadline-ms'], parseDeadlineMix),
    maxHeld: positive('max-held', v['max-held'], true),
    tenants: parseFlag('tenants', v.tenants, parseTenantMix),
    fairShare: !v['no-fair-share'],
    batchingByClass: parseBatching(v.batch),
    refreshMs: positive('refresh-ms', v['refresh-ms']) as number,
    completionLagMs: nonNegative('completion-lag-ms', v['completion-lag-ms'], 0),
    pipelineOverheadMs: nonNegative('overhead-ms', v['overhead-ms'], 0),
    seed,
    sweep: v.sweep,
    svg: v.svg,
    json: v.json,
    progress: !v['no-progress'],
    help: v.help,
  });
}
