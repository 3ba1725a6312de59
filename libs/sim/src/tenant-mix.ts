import { seededRng } from '@sched/core';

/** Tenants sending the simulated jobs: each arrival belongs to one, drawn by share. */
export interface TenantMix {
  readonly names: readonly string[];
  /** Fair-sharing weight per tenant (API_KEYS_FILE `weight`). */
  readonly weights: readonly number[];
  /** Running sum of the normalised shares of arrivals (the last is 1). */
  readonly cumulative: readonly number[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * `a=10,b=1`: tenant `a` sends 10 jobs for every one of `b`'s (shares of the arrivals, normalised),
 * both of weight 1. `a=10,b=1:2`: `b` has weight 2 (twice `a`'s share of the fleet when both wait).
 */
export function parseTenantMix(text: string): TenantMix {
  const names: string[] = [];
  const shares: number[] = [];
  const weights: number[] = [];
  for (const part of text.split(',')) {
    const at = part.indexOf('=');
    const name = (at === -1 ? part : part.slice(0, at)).trim();
    if (!NAME.test(name)) throw new RangeError(`expected tenant=share[:weight] with a name of letters, digits, . _ -, got "${part}"`);
    if (names.includes(name)) throw new RangeError(`tenant "${name}" is given twice`);
    const [shareText = '', weightText] = at === -1 ? [''] : part.slice(at + 1).split(':');
    const share = Number(shareText);
    if (shareText.trim() === '' || !Number.isFinite(share) || share <= 0) throw new RangeError(`expected a share > 0 for tenant "${name}", got "${shareText}" (form: a=10,b=1:2)`);
    const weight = weightText === undefined ? 1 : Number(weightText);
    if (!Number.isFinite(weight) || weight <= 0) throw new RangeError(`expected a weight > 0 for tenant "${name}", got "${weightText ?? ''}"`);
    names.push(name);
    shares.push(share);
    weights.push(weight);
  }
  const total = shares.reduce((a, b) => a + b, 0);
  let sum = 0;
  const cumulative = shares.map((s) => (sum += s / total));
  cumulative[cumulative.length - 1] = 1;
  return { names, weights, cumulative };
}

/** Each arrival's tenant (an index in `mix.names`), from the seed's own stream: the same for every policy and for a solo run. */
export function tenantStream(seed: number, mix: TenantMix): () => number {
  const rng = seededRng(seed ^ 0x1b873593);
  const last = mix.cumulative.length - 1;
  return () => {
    const u = rng();
    for (let i = 0; i < last; i++) if (u < (mix.cumulative[i] as number)) return i;
    return last;
  };
}
