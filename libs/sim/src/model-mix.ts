import type { Catalog } from '@sched/core';
import { createModelMix, type ModelMix } from '@sched/exec';

// The simulator's mixes are the workload module's (libs/exec), one `--mix` grammar with the load client.
export { createModelMix, parseModelMix, type ModelMix, type ModelShare } from '@sched/exec';

/** Without `--mix`: every job is of the fleet's model `default`, else of its first model. */
export function defaultModelMix(fleet: Catalog): ModelMix {
  const models = Object.keys(fleet.models);
  return createModelMix({ [models.includes('default') ? 'default' : (models[0] as string)]: 1 });
}
