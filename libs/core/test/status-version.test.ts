import { describe, expect, it } from 'vitest';
import { executionsStarted, statusVersion } from '../src/index.js';

describe('statusVersion (SSE event ids)', () => {
  it('grows along every path a job can take, retries and cancellation included', () => {
    const paths: [status: Parameters<typeof statusVersion>[0], attempt: number][][] = [
      // runs once
      [['queued', 0], ['dispatched', 0], ['running', 1], ['completed', 1]],
      // fails, is retried, completes
      [['dispatched', 0], ['running', 1], ['dispatched', 1], ['running', 2], ['completed', 2]],
      // cancelled while waiting for its first run, and while backing off before a retry
      [['queued', 0], ['dispatched', 0], ['cancelled', 0]],
      [['dispatched', 0], ['running', 1], ['dispatched', 1], ['cancelled', 1]],
      // fails, is retried, and fails its deadline while backing off (never runs again)
      [['dispatched', 0], ['running', 1], ['dispatched', 1], ['failed', 1]],
      // fails for good on its last attempt
      [['dispatched', 0], ['running', 1], ['dispatched', 1], ['running', 2], ['failed', 2]],
      // its worker dies while running it: taken back (queued, not an SSE event), routed again, runs
      // again; the executions carried across the re-route keep the versions growing
      [['dispatched', 0], ['running', 1], ['dispatched', executionsStarted({ priorAttempts: 1 }, 0)], ['running', executionsStarted({ priorAttempts: 1 }, 1)], ['completed', 2]],
    ];
    for (const path of paths) {
      const versions = path.map(([status, attempt]) => statusVersion(status, attempt));
      for (let i = 1; i < versions.length; i++) expect(versions[i], JSON.stringify(path)).toBeGreaterThan(versions[i - 1] as number);
    }
  });
});
