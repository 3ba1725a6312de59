import { runMain } from '@sched/runtime';
import { createApi } from './create-api.js';

runMain('api', async (config) => {
  const api = await createApi(config);
  await api.listen();
  return () => api.close();
});
