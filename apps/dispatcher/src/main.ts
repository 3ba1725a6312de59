import { runMain } from '@sched/runtime';
import { createDispatcher } from './create-dispatcher.js';

runMain('dispatcher', async (config) => {
  const dispatcher = await createDispatcher(config);
  return () => dispatcher.close();
});
