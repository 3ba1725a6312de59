import { closeSync, openSync, writeSync } from 'node:fs';

/** One execution start as the log records it. */
export interface ExecutionRecord {
  /** Epoch ms when the execution started. */
  readonly at: number;
  readonly jobId: string;
  /** The job's executions started, this one included, on every worker it was routed to (`executionsStarted`). */
  readonly attempt: number;
  readonly workerId: string;
  /** The worker host's process id: which incarnation of the host ran it. */
  readonly pid: number;
}

/** `<at> <jobId> <attempt> <workerId> <pid>`: job and worker ids hold no spaces (UUIDs; the fleet file's ids). */
export function formatExecutionLine(record: ExecutionRecord): string {
  return `${record.at} ${record.jobId} ${record.attempt} ${record.workerId} ${record.pid}\n`;
}

/** Reads a log's text back; a line that is not whole is skipped. */
export function parseExecutionLog(text: string): ExecutionRecord[] {
  const records: ExecutionRecord[] = [];
  for (const line of text.split('\n')) {
    const match = /^(\d+) (\S+) (\d+) (\S+) (\d+)$/.exec(line);
    if (match === null) continue;
    const [, at, jobId = '', attempt, workerId = '', pid] = match;
    records.push({ at: Number(at), jobId, attempt: Number(attempt), workerId, pid: Number(pid) });
  }
  return records;
}

/**
 * `EXECUTION_LOG=<file>` (off by default): a line per execution start, appended to the file with a
 * synchronous write before the simulated work begins, so a host killed with `kill -9` mid-job has
 * already recorded that execution. `npm run chaos` reads it to count executions per job.
 */
export class ExecutionLog {
  private constructor(private fd: number | null) {}

  /** The log at `path`, or null when none is configured. */
  static open(path: string | undefined): ExecutionLog | null {
    return path === undefined ? null : new ExecutionLog(openSync(path, 'a'));
  }

  record(record: ExecutionRecord): void {
    if (this.fd !== null) writeSync(this.fd, formatExecutionLine(record));
  }

  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }
}
