import type { Catalog, JobSize, LatencySpec, Rng } from '@sched/core';

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

/** Batch of `batchSize` jobs takes base × (1 + alpha·(b − 1)): alpha 0 is free batching, 1 is none. */
export function batchLatencyMs(baseMs: number, batchSize: number, alpha: number): number {
  return baseMs * (1 + alpha * (batchSize - 1));
}

/**
 * One (model, class) entry, precomputed so sampling is a few multiplications:
 * the median scales with the job's tokens, the spread (sigma) does not.
 */
interface ServiceDist {
  readonly p50Ms: number;
  readonly sigma: number;
  readonly exponential: boolean;
  /** mean / median: exp(sigma²/2) for a lognormal, 1/ln 2 for an exponential. */
  readonly meanOverMedian: number;
  readonly prefillMsPerToken: number;
  readonly decodeMsPerToken: number;
  readonly batchAlpha: number;
}

function compileDist(spec: LatencySpec): ServiceDist {
  const exponential = spec.distribution === 'exponential';
  const { sigma } = fitLognormal(spec);
  return {
    p50Ms: spec.p50Ms,
    sigma: exponential ? 0 : sigma,
    exponential,
    meanOverMedian: exponential ? 1 / Math.LN2 : Math.exp((sigma * sigma) / 2),
    prefillMsPerToken: spec.prefillMsPerToken ?? 0,
    decodeMsPerToken: spec.decodeMsPerToken ?? 0,
    batchAlpha: spec.batchAlpha ?? 1,
  };
}

function medianMs(dist: ServiceDist, size: JobSize | undefined): number {
  if (size === undefined) return dist.p50Ms;
  return dist.p50Ms + dist.prefillMsPerToken * size.inputTokens + dist.decodeMsPerToken * size.outputTokens;
}

/** Service-time distributions per (model, class), built once from a fleet. */
export class LatencyModel {
  // Nested maps, not a joined string key: the simulator asks several times per job.
  private readonly dists = new Map<string, Map<string, ServiceDist>>();

  constructor(models: Catalog['models']) {
    for (const [model, byClass] of Object.entries(models)) {
      const compiled = new Map<string, ServiceDist>();
      for (const [cls, spec] of Object.entries(byClass)) compiled.set(cls, compileDist(spec));
      this.dists.set(model, compiled);
    }
  }

  private dist(model: string, cls: string): ServiceDist {
    const dist = this.dists.get(model)?.get(cls);
    if (dist === undefined) throw new Error(`no latency for model "${model}" on class "${cls}"`);
    return dist;
  }

  serves(model: string, cls: string): boolean {
    return this.dists.get(model)?.has(cls) === true;
  }

  /** One job's service time; `size` adds the per-token terms when the fleet file gives them. */
  sampleMs(model: string, cls: string, rng: Rng, size?: JobSize): number {
    const dist = this.dist(model, cls);
    const median = medianMs(dist, size);
    if (dist.exponential) return -median * dist.meanOverMedian * Math.log(1 - rng());
    if (dist.sigma === 0) return median;
    return median * Math.exp(dist.sigma * standardNormal(rng));
  }

  expectedMs(model: string, cls: string, size?: JobSize): number {
    const dist = this.dist(model, cls);
    return medianMs(dist, size) * dist.meanOverMedian;
  }

  /** The batching curve's alpha for this model on this class (1 when the fleet file gives none). */
  batchAlpha(model: string, cls: string): number {
    return this.dist(model, cls).batchAlpha;
  }

  /**
   * One execution of `batchSize` jobs: a base drawn for the batch's largest
   * size (sequences are padded to the longest), stretched by the batching curve.
   */
  sampleBatchMs(model: string, cls: string, batchSize: number, rng: Rng, size?: JobSize): number {
    return batchLatencyMs(this.sampleMs(model, cls, rng, size), batchSize, this.batchAlpha(model, cls));
  }
}
