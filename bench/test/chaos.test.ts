import { describe, expect, it } from 'vitest';
import { formatChaosReport } from '../chaos-report-format.js';
import { runChaos } from '../chaos-run.js';

// `npm run chaos` for 20 s: every fault of the full run (a worker host killed with SIGKILL at 10 s,
// Redis filled to maxmemory, Redis restarted, the dispatcher killed), at 40 jobs/s rather than 70 %
// of the fleet (137 jobs/s) so that npm test on two shared cores stays well under two minutes.
describe('a short chaos run', () => {
  it('loses no accepted job and leaves none unfinished', { timeout: 115_000 }, async () => {
    const lines: string[] = [];
    const { report, startedAt } = await runChaos({ seconds: 20, seed: 1, ratePerS: 40, drainS: 40, deadWorkerGraceMs: 5000, log: (line) => lines.push(line) });
    const table = `${lines.join('\n')}\n${formatChaosReport(report, 'short chaos run', startedAt)}`;
    expect(report.accepted, table).toBeGreaterThan(500);
    expect(report.lost, table).toEqual([]);
    expect(report.stuck, table).toEqual([]);
  });
});
