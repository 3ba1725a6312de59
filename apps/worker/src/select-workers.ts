import { ConfigError, type Catalog, type Config, type ResolvedWorker } from '@sched/core';

/** The fleet file's workers this host runs: all of them, or the WORKER_IDS subset (every id must be in the file). */
export function selectWorkers(fleet: Catalog, ids: Config['WORKER_IDS']): readonly ResolvedWorker[] {
  if (ids === undefined) return fleet.workers;
  const unknown = ids.filter((id) => !fleet.workers.some((worker) => worker.id === id));
  if (unknown.length > 0) throw new ConfigError('WORKER_IDS', `expected workers of the fleet file; not in it: ${unknown.join(', ')}`);
  return fleet.workers.filter((worker) => ids.includes(worker.id));
}
