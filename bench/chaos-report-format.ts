import { formatNumber, markdownTable } from './bench-format.js';
import { chaosPassed, type ChaosReport } from './chaos-report.js';

function ms(value: number | undefined): string {
  return value === undefined ? '—' : `${formatNumber(value)} ms`;
}

function counts(record: Record<string, number>): string {
  const entries = Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? '0' : entries.map(([key, n]) => `${key} ${formatNumber(n)}`).join(', ');
}

function sample(ids: readonly string[]): string {
  return ids.length === 0 ? '' : ` (e.g. ${ids.slice(0, 3).join(', ')})`;
}

/** The run's table (markdown, so it pastes into BENCHMARKS.md) and the lines that explain it. */
export function formatChaosReport(report: ChaosReport, header: string, startedAt: number): string {
  const at = (epochMs: number): string => `+${((epochMs - startedAt) / 1000).toFixed(1)} s`;
  const failed = Object.values(report.failedByReason).reduce((a, b) => a + b, 0);
  const duplicates = Object.entries(report.executionsPerJob)
    .filter(([n]) => Number(n) > 1)
    .reduce((sum, [, jobs]) => sum + jobs, 0);
  const unrecovered = report.recoveries.filter((r) => r.unfinished > 0).length;
  const rows: string[][] = [
    ['accepted (202)', formatNumber(report.accepted)],
    ['completed', formatNumber(report.completed)],
    ['failed, by reason', failed === 0 ? '0' : `${formatNumber(failed)}: ${counts(report.failedByReason)}`],
    ['cancelled', formatNumber(report.cancelled)],
    ['**lost** (accepted, unknown to the API after the drain)', `**${formatNumber(report.lost.length)}**${sample(report.lost)}`],
    ['**stuck** (accepted, not terminal after the drain timeout)', `**${formatNumber(report.stuck.length)}**${sample(report.stuck)}`],
    ['executions per job (jobs)', counts(report.executionsPerJob)],
    ['jobs run more than once', `${formatNumber(duplicates)}, of which not explained by a host kill: ${formatNumber(report.unexplainedDuplicates.length)}${sample(report.unexplainedDuplicates)}`],
    ['completed p50 / p99 / max (submit → finish)', `${ms(report.latency.p50Ms)} / ${ms(report.latency.p99Ms)} / ${ms(report.latency.maxMs)}`],
    ['longest recovery after a worker-host kill', `${ms(report.longestRecoveryMs)}${unrecovered > 0 ? ` (${unrecovered} kills not recovered)` : ''}`],
  ];
  for (const t of report.tenants) {
    rows.push([`${t.tenant}: submitted / accepted / unresolved`, `${formatNumber(t.submissions)} / ${formatNumber(t.accepted)} / ${formatNumber(t.unresolved)}`]);
    rows.push([`${t.tenant}: 429s / 503s / other 5xx answers`, `${formatNumber(t.responses429)} / ${formatNumber(t.responses503)} / ${formatNumber(t.responses5xx)}`]);
  }
  const lines = [header, '', markdownTable(['', 'value'], rows), ''];
  for (const r of report.recoveries) {
    const stranded = r.unfinished > 0 ? `${r.unfinished} of them unfinished` : `the last finished after ${ms(r.lastStrandedMs)}`;
    lines.push(`recovery: ${r.host} killed at ${at(r.killedAt)}: ${r.stranded} jobs stranded, ${stranded}; first completion on the restarted host after ${ms(r.firstCompletionMs)}`);
  }
  for (const t of report.tenants) {
    if (Object.keys(t.refused).length > 0) lines.push(`refused in the end (${t.tenant}): ${counts(t.refused)}`);
  }
  for (const exit of report.unexpectedExits) {
    lines.push(`FINDING: ${exit.process} exited by itself at ${at(exit.at)} (${exit.code}); restarted. Its last output:`, exit.tail);
  }
  for (const runs of report.duplicateSamples) {
    lines.push(`run more than once, no kill explains it: ${runs[0]?.jobId ?? '?'}: ${runs.map((r) => `${at(r.at)} ${r.workerId} attempt ${r.attempt} (pid ${r.pid})`).join(' → ')}`);
  }
  for (const [state, n] of Object.entries(report.unaccountedByRedisState).sort(([, a], [, b]) => b - a)) {
    lines.push(`lost or stuck, ${formatNumber(n)} jobs: Redis after the drain holds ${state}`);
  }
  for (const d of report.diagnoses) {
    lines.push(`${d.kind} ${d.id}: submitted ${d.tries.map((t) => `${at(t.at)} ${t.outcome}`).join(' → ')}; Redis after the drain: ${d.redis}`);
  }
  if (report.completedWithoutExecution.length > 0) {
    lines.push(`FINDING: ${report.completedWithoutExecution.length} completed jobs have no execution in the log${sample(report.completedWithoutExecution)}`);
  }
  lines.push(chaosPassed(report) ? 'PASS: nothing lost, nothing stuck' : `FAIL: ${report.lost.length} lost, ${report.stuck.length} stuck`);
  return lines.join('\n');
}
