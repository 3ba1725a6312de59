import { runMain } from '@sched/runtime';
import { createWorkerHost } from './create-worker-host.js';

runMain('worker', async (config) => {
  const host = await createWorkerHost(config);
  return () => host.close();
});
