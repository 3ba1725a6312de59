import { MODEL_NAME_PATTERN, type Rng } from '@sched/core';

/** One model's share of the jobs. */
export interface ModelShare {
  readonly model: string;
  /** Fraction of jobs; the shares of a mix sum to 1. */
  readonly share: number;
}

/** The models jobs are drawn from, in the order given, with shares summing to 1. */
export type ModelMix = readonly ModelShare[];

/** How a mix is written on every command line (the load client's and the simulator's `--mix`). */
export const MODEL_MIX_FORM = 'model=weight[,model=weight...]';

/**
 * A mix that cannot be used; the message says what is wrong, without naming a flag (callers add
 * it). A RangeError, as every bad flag value the simulator's CLI reports.
 */
export class ModelMixError extends RangeError {
  override readonly name = 'ModelMixError';
}

/** Shares from positive weights, normalised: `{a: 3, b: 1}` is a at 0.75, b at 0.25. */
export function createModelMix(weights: Readonly<Record<string, number>>): ModelMix {
  const entries = Object.entries(weights);
  if (entries.length === 0) throw new ModelMixError(`expected ${MODEL_MIX_FORM}, got no model`);
  for (const [model, weight] of entries) {
    if (!Number.isFinite(weight) || weight <= 0) throw new ModelMixError(`weight of ${model} must be a positive number, got "${weight}"`);
  }
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
  return Object.freeze(entries.map(([model, weight]) => Object.freeze({ model, share: weight / total })));
}

/**
 * Parses `resnet50=3,bert-base=1` or `resnet50=0.5,bert-base=0.5`: weights need not sum to 1.
 * The simulator's former `resnet50:3` is refused with the form to write instead.
 */
export function parseModelMix(text: string): ModelMix {
  const weights: Record<string, number> = {};
  for (const raw of text.split(',')) {
    const part = raw.trim();
    const match = /^([^=\s]+)\s*=\s*(\S+)$/.exec(part);
    const model = match?.[1];
    const weightText = match?.[2];
    if (model === undefined || weightText === undefined) throw new ModelMixError(formError(part));
    if (!MODEL_NAME_PATTERN.test(model)) throw new ModelMixError(`"${model}" is not a model name`);
    const weight = Number(weightText);
    if (!Number.isFinite(weight) || weight <= 0) throw new ModelMixError(`weight of ${model} must be a positive number, got "${weightText}"`);
    if (Object.hasOwn(weights, model)) throw new ModelMixError(`${model} is listed twice`);
    weights[model] = weight;
  }
  return createModelMix(weights);
}

function formError(part: string): string {
  const old = /^([^:=\s]+):([^:=\s]*)$/.exec(part);
  if (old !== null) return `"${part}" is the old model:weight form; write ${old[1] ?? ''}=${old[2] || '1'} (${MODEL_MIX_FORM})`;
  const alone = MODEL_NAME_PATTERN.test(part) ? ` (one model alone: ${part}=1)` : '';
  return `expected ${MODEL_MIX_FORM}, got "${part}"${alone}`;
}

/**
 * Draws a model per job with the mix's shares. A one-model mix takes no draw from `rng`, so
 * arrival times drawn from the same stream are those of a run without a mix.
 */
export function modelPicker(mix: ModelMix, rng: Rng): () => string {
  const last = mix.at(-1);
  if (last === undefined) throw new ModelMixError(`expected ${MODEL_MIX_FORM}, got no model`);
  if (mix.length === 1) return () => last.model;
  // Cumulative bounds, so a draw is one comparison per model.
  let running = 0;
  const bounds = mix.map(({ share }) => (running += share));
  const models = mix.map(({ model }) => model);
  return () => {
    const u = rng();
    for (let i = 0; i < bounds.length - 1; i++) if (u < (bounds[i] as number)) return models[i] as string;
    return last.model;
  };
}
