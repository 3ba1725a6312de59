import { ConfigError, parseCatalog } from '@sched/core';
import { describe, expect, it } from 'vitest';
import { selectWorkers } from '../src/select-workers.js';

const fleet = parseCatalog({
  models: { default: { gpu: { p50Ms: 50, p99Ms: 90 }, cpu: { p50Ms: 400, p99Ms: 700 } } },
  workers: [
    { id: 'gpu-0', class: 'gpu', slots: 1 },
    { id: 'cpu-0', class: 'cpu', slots: 1 },
    { id: 'cpu-1', class: 'cpu', slots: 1 },
  ],
});

describe('selectWorkers', () => {
  it('runs every worker of the fleet file without WORKER_IDS', () => {
    expect(selectWorkers(fleet, undefined).map((w) => w.id)).toEqual(['gpu-0', 'cpu-0', 'cpu-1']);
  });

  it('runs the WORKER_IDS subset, in the fleet file order', () => {
    expect(selectWorkers(fleet, ['cpu-1', 'gpu-0']).map((w) => w.id)).toEqual(['gpu-0', 'cpu-1']);
  });

  it('refuses WORKER_IDS naming workers the fleet file does not have, naming the variable and them', () => {
    expect(() => selectWorkers(fleet, ['gpu-0', 'tpu-0', 'tpu-1'])).toThrow(ConfigError);
    expect(() => selectWorkers(fleet, ['gpu-0', 'tpu-0', 'tpu-1'])).toThrow(
      'invalid environment variable WORKER_IDS: expected workers of the fleet file; not in it: tpu-0, tpu-1',
    );
  });
});
