import type { Rng } from '@sched/core';

/** Models and their share of arrivals (weights are normalised). */
export interface ModelMix {
  readonly models: readonly string[];
  /** Cumulative probabilities, last = 1. */
  readonly cumulative: readonly number[];
}

export function createModelMix(weights: Readonly<Record<string, number>>): ModelMix {
  const entries = Object.entries(weights).filter(([, w]) => w > 0);
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  if (entries.length === 0 || !Number.isFinite(total)) throw new RangeError('model mix: expected at least one positive weight');
  let running = 0;
  return {
    models: entries.map(([model]) => model),
    cumulative: entries.map(([, w]) => (running += w / total)),
  };
}

/** "a:3,b:1" → {a: 3, b: 1}; a bare name weighs 1. */
export function parseModelMix(text: string): ModelMix {
  const weights: Record<string, number> = {};
  for (const part of text.split(',')) {
    const [model = '', weight = '1'] = part.trim().split(':');
    const w = Number(weight);
    if (model === '' || !(w > 0)) throw new RangeError(`--mix: expected model[:weight],… got "${part}"`);
    weights[model] = (weights[model] ?? 0) + w;
  }
  return createModelMix(weights);
}

/** Index into `mix.models`. */
export function sampleModelIndex(mix: ModelMix, rng: Rng): number {
  if (mix.models.length === 1) return 0;
  const u = rng();
  const cumulative = mix.cumulative;
  for (let i = 0; i < cumulative.length - 1; i++) if (u < (cumulative[i] as number)) return i;
  return cumulative.length - 1;
}
