import type { Fleet, LatencySpec, Rng } from '@sched/core';

/** z-score of the 99th percentile of a standard normal. */
const Z99 = 2.3263478740408408;

/** A lognormal fitted to p50/p99: ln X ~ N(mu, sigma²). p50 = p99 gives sigma = 0, a constant. */
export interface Lognormal {
  readonly mu: number;
  readonly sigma: number;
}

export function fitLognormal(spec: LatencySpec): Lognormal {
  return { mu: Math.log(spec.p50Ms), sigma: Math.log(spec.p99Ms / spec.p50Ms) / Z99 };
}

export function lognormalMean(dist: Lognormal): number {
  return Math.exp(dist.mu + (dist.sigma * dist.sigma) / 2);
}

/** Box–Muller; one uniform pair per draw keeps the stream reproducible per seed. */
export function standardNormal(rng: Rng): number {
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export function sampleLognormal(dist: Lognormal, rng: Rng): number {
  if (dist.sigma === 0) return Math.exp(dist.mu);
  return Math.exp(dist.mu + dist.sigma * standardNormal(rng));
}

/** Service-time distributions per (model, class), built once from a fleet. */
export class LatencyModel {
  private readonly dists = new Map<string, Lognormal>();

  constructor(models: Fleet['models']) {
    for (const [model, byClass] of Object.entries(models)) {
      for (const [cls, spec] of Object.entries(byClass)) this.dists.set(`${model}\u0000${cls}`, fitLognormal(spec));
    }
  }

  private dist(model: string, cls: string): Lognormal {
    const dist = this.dists.get(`${model}\u0000${cls}`);
    if (dist === undefined) throw new Error(`no latency for model "${model}" on class "${cls}"`);
    return dist;
  }

  serves(model: string, cls: string): boolean {
    return this.dists.has(`${model}\u0000${cls}`);
  }

  sampleMs(model: string, cls: string, rng: Rng): number {
    return sampleLognormal(this.dist(model, cls), rng);
  }

  expectedMs(model: string, cls: string): number {
    return lognormalMean(this.dist(model, cls));
  }
}
