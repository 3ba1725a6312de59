import { MODEL_NAME_PATTERN, type Rng } from '@sched/core';

export interface ModelShare {
  readonly model: string;
  /** Share of jobs, normalised so that all shares sum to 1. */
  readonly share: number;
}

/**
 * Parses `resnet50=0.5,bert-base=0.5` (weights need not sum to 1; they are
 * normalised). Throws an Error whose message says what is wrong, without the flag name.
 */
export function parseModelMix(text: string): readonly ModelShare[] {
  const weights = new Map<string, number>();
  for (const part of text.split(',')) {
    const match = /^\s*([^=\s]+)\s*=\s*([^\s]+)\s*$/.exec(part);
    const model = match?.[1];
    const weightText = match?.[2];
    if (model === undefined || weightText === undefined) {
      throw new Error(`expected model=weight[,model=weight...], got "${part.trim()}"`);
    }
    if (!MODEL_NAME_PATTERN.test(model)) throw new Error(`"${model}" is not a model name`);
    const weight = Number(weightText);
    if (!Number.isFinite(weight) || weight <= 0) throw new Error(`weight of ${model} must be a positive number, got "${weightText}"`);
    if (weights.has(model)) throw new Error(`${model} is listed twice`);
    weights.set(model, weight);
  }
  const total = [...weights.values()].reduce((sum, w) => sum + w, 0);
  return Object.freeze([...weights].map(([model, weight]) => Object.freeze({ model, share: weight / total })));
}

/** Draws a model per job with the mix's shares. */
export function modelPicker(mix: readonly ModelShare[], rng: Rng): () => string {
  const only = mix.length === 1 ? mix[0] : undefined;
  if (only !== undefined) return () => only.model;
  const last = mix.at(-1);
  if (last === undefined) throw new Error('empty model mix');
  return () => {
    let u = rng();
    for (const { model, share } of mix) {
      if (u < share) return model;
      u -= share;
    }
    return last.model;
  };
}
