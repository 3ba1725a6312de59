import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { MODEL_NAME_PATTERN } from './job-request.js';
import { ownEntry } from './own-entry.js';
import { describeFieldErrors, fieldErrorsOf } from './zod-issues.js';

const positiveInt = z
  .int({ error: 'expected a positive integer' })
  .positive({ error: 'expected a positive integer' });
const positiveMs = z
  .number({ error: 'expected a positive number of milliseconds' })
  .positive({ error: 'expected a positive number of milliseconds' });

const nonNegative = (what: string) =>
  z.number({ error: `expected a non-negative ${what}` }).nonnegative({ error: `expected a non-negative ${what}` });

/** p99/p50 of an exponential distribution: ln 100 / ln 2. */
export const EXPONENTIAL_P99_OVER_P50 = Math.log(100) / Math.log(2);

/**
 * Service time of one model on one class. `p50Ms`/`p99Ms` fit the spread; the
 * optional per-token terms make a sized job cost `p50Ms + prefill·in + decode·out`
 * at the median (same spread), so one job can take 20 ms and the next 2 s.
 */
export const latencySpecSchema = z
  .strictObject({
    p50Ms: positiveMs,
    p99Ms: positiveMs,
    /** Extra ms per input token (prefill). */
    prefillMsPerToken: nonNegative('number of milliseconds per token').optional(),
    /** Extra ms per output token (decode). */
    decodeMsPerToken: nonNegative('number of milliseconds per token').optional(),
    /** Batch of b takes base × (1 + batchAlpha·(b − 1)); 1 (the default) means batching gains nothing. */
    batchAlpha: nonNegative('number').optional(),
    /** `lognormal` (default) or `exponential` (memoryless, for queueing checks; p99Ms must be p50Ms × log2 100). */
    distribution: z.enum(['lognormal', 'exponential'], { error: 'expected lognormal or exponential' }).optional(),
  })
  .refine((l) => l.p99Ms >= l.p50Ms, { error: 'p99Ms must be ≥ p50Ms', path: ['p99Ms'] })
  .refine((l) => l.distribution !== 'exponential' || Math.abs(l.p99Ms / l.p50Ms - EXPONENTIAL_P99_OVER_P50) < 0.01, {
    error: 'an exponential distribution has p99Ms = p50Ms × 6.644',
    path: ['p99Ms'],
  });
export type LatencySpec = z.infer<typeof latencySpecSchema>;

export const WORKER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
export const CLASS_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

export const fleetWorkerSchema = z.strictObject({
  id: z.string({ error: 'expected a worker id' }).regex(WORKER_ID_PATTERN, {
    error: 'expected letters, digits, _ or - (≤ 63 chars; no ":" or ".")',
  }),
  class: z.string({ error: 'expected a class name' }).regex(CLASS_NAME_PATTERN, {
    error: 'expected a lower-case class name such as gpu or cpu',
  }),
  slots: positiveInt,
  models: z.array(z.string().regex(MODEL_NAME_PATTERN, { error: 'expected a model name' })).min(1).optional(),
  failureRate: z
    .number({ error: 'expected a number in [0, 1)' })
    .min(0, { error: 'expected a number in [0, 1)' })
    .lt(1, { error: 'expected a number in [0, 1)' })
    .optional(),
  /** Dynamic batching: at most this many jobs of one model per execution (1, the default, disables it). */
  maxBatch: positiveInt.optional(),
  /** Dynamic batching: a partial batch fires once its oldest job has waited this long (default 0). */
  maxQueueDelayMs: nonNegative('number of milliseconds').optional(),
  /** Price of the worker per hour of busy time, in any currency unit (default 0). */
  costPerHour: nonNegative('number').optional(),
});
export type FleetWorker = z.infer<typeof fleetWorkerSchema>;

/**
 * The largest job a model accepts, by the client's `size` fields: a job past them is refused (422)
 * at submission, so no single request can hold a slot for hours.
 */
export const modelLimitsSchema = z.strictObject({
  /** At most this many `size.inputTokens`. */
  maxInputTokens: positiveInt,
  /** At most this many `size.outputTokens`. */
  maxOutputTokens: positiveInt,
});
export type ModelLimits = z.infer<typeof modelLimitsSchema>;

/** The limits of a model the fleet file gives none: a long prompt and a long answer on an 8k-context LLM. */
export const DEFAULT_MODEL_LIMITS: ModelLimits = Object.freeze({ maxInputTokens: 32_768, maxOutputTokens: 4096 });

export const fleetFileSchema = z.strictObject({
  models: z.record(
    z.string().regex(MODEL_NAME_PATTERN, { error: 'expected a model name' }),
    z.record(z.string().regex(CLASS_NAME_PATTERN, { error: 'expected a class name' }), latencySpecSchema),
  ),
  /** Per-model caps on a job's `size` (DEFAULT_MODEL_LIMITS for a model not listed, or a field left out). */
  limits: z.record(z.string().regex(MODEL_NAME_PATTERN, { error: 'expected a model name' }), modelLimitsSchema.partial()).optional(),
  workers: z.array(fleetWorkerSchema).min(1, { error: 'expected at least one worker' }),
});
export type FleetFile = z.infer<typeof fleetFileSchema>;

/** A worker with its model list resolved against the catalog. */
export interface ResolvedWorker extends FleetWorker {
  models: string[];
}

/**
 * The catalog: what the fleet file declares (models with their latency per worker class, and the
 * declared workers). Not the live fleet: that is the dispatcher's `FleetView` (from heartbeats and
 * queue depths), a policy's `FleetSnapshot`, and the API's `WorkerStatus` list.
 */
export interface Catalog {
  readonly models: FleetFile['models'];
  readonly workers: readonly ResolvedWorker[];
  /** Every model's size caps, defaults filled in (see `modelLimits`; absent on a catalog built by hand). */
  readonly limits?: Readonly<Record<string, ModelLimits>>;
}

/** The size caps of `model`: the fleet file's, else DEFAULT_MODEL_LIMITS. */
export function modelLimits(catalog: Pick<Catalog, 'limits'>, model: string): ModelLimits {
  return ownEntry(catalog.limits, model) ?? DEFAULT_MODEL_LIMITS;
}

export class FleetFileError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source}: ${problems.join('; ')}`);
    this.name = 'FleetFileError';
  }
}

/** Validates a parsed fleet file; every problem names its exact field. */
export function parseCatalog(raw: unknown, source = 'fleet'): Catalog {
  const parsed = fleetFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new FleetFileError(source, describeFieldErrors(fieldErrorsOf(parsed.error)).split('; '));
  }
  const file = parsed.data;
  const problems: string[] = [];
  const seen = new Set<string>();
  const workers = file.workers.map((worker, i): ResolvedWorker => {
    if (seen.has(worker.id)) problems.push(`workers[${i}].id: duplicate worker id "${worker.id}"`);
    seen.add(worker.id);
    const servable = Object.keys(file.models).filter((m) => modelLatency(file.models, m, worker.class) !== undefined);
    if (worker.models === undefined) {
      if (servable.length === 0) problems.push(`workers[${i}].class: no model has a latency for class "${worker.class}"`);
      return { ...worker, models: servable };
    }
    worker.models.forEach((model, j) => {
      if (ownEntry(file.models, model) === undefined) problems.push(`workers[${i}].models[${j}]: unknown model "${model}"`);
      else if (modelLatency(file.models, model, worker.class) === undefined) {
        problems.push(`workers[${i}].models[${j}]: model "${model}" has no latency for class "${worker.class}"`);
      }
    });
    return { ...worker, models: worker.models };
  });
  const limits: Record<string, ModelLimits> = {};
  for (const model of Object.keys(file.limits ?? {})) {
    if (!hasModel(file.models, model)) problems.push(`limits.${model}: unknown model "${model}"`);
  }
  for (const model of Object.keys(file.models)) {
    const given = ownEntry(file.limits, model);
    limits[model] = Object.freeze({ ...DEFAULT_MODEL_LIMITS, ...given });
  }
  if (problems.length > 0) throw new FleetFileError(source, problems);
  return Object.freeze({ models: file.models, workers: Object.freeze(workers), limits: Object.freeze(limits) });
}

export function loadCatalog(path: string): Catalog {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new FleetFileError(path, [`cannot read file (${(error as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new FleetFileError(path, [`not valid JSON (${(error as Error).message})`]);
  }
  return parseCatalog(raw, path);
}

/** A model's latency on one worker class, looked up by own property only (`constructor` is no model). */
export function modelLatency(models: Catalog['models'], model: string, workerClass: string): LatencySpec | undefined {
  return ownEntry(ownEntry(models, model), workerClass);
}

/** Whether the catalog has this model (by own property: `constructor` or `toString` is no model). */
export function hasModel(models: Catalog['models'], model: string): boolean {
  return ownEntry(models, model) !== undefined;
}

/** The fleets shipped with the project (`fleets/<name>.json` at the repository root). */
export function bundledFleetPath(name: 'default' | 'prototype' | 'heterogeneous'): string {
  return fileURLToPath(new URL(`../../../fleets/${name}.json`, import.meta.url));
}

/**
 * The latest moment a job can start and still finish within its `deadlineMs`: submission +
 * deadline − its typical (p50) service time on that class, or on the fastest class that
 * serves the model when it has no worker yet. Undefined without a deadline.
 */
export function latestStartAt(
  models: Catalog['models'],
  job: { model: string; deadlineMs?: number | undefined; createdAt: number },
  workerClass?: string,
): number | undefined {
  if (job.deadlineMs === undefined) return undefined;
  const byClass = ownEntry(models, job.model) ?? {};
  const onClass = workerClass === undefined ? undefined : ownEntry(byClass, workerClass);
  const specs = onClass !== undefined ? [onClass] : Object.values(byClass);
  const serviceMs = Math.min(...specs.map((spec) => spec.p50Ms));
  return job.createdAt + job.deadlineMs - (Number.isFinite(serviceMs) ? serviceMs : 0);
}
