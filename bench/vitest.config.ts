import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@sched/source'] },
  ssr: { resolve: { conditions: ['@sched/source'] } },
  test: { include: ['test/**/*.test.ts'], testTimeout: 10_000 },
});
