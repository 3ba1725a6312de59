import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExecutionLog, formatExecutionLine, parseExecutionLog } from '../src/execution-log.js';

const record = { at: 1_700_000_000_123, jobId: '3f1c2a9e-0000-4000-8000-000000000001', attempt: 2, workerId: 'gpu-0', pid: 4242 };

describe('the execution log', () => {
  it('writes a line per record that reads back the same', () => {
    expect(formatExecutionLine(record)).toBe('1700000000123 3f1c2a9e-0000-4000-8000-000000000001 2 gpu-0 4242\n');
    expect(parseExecutionLog(formatExecutionLine(record) + formatExecutionLine({ ...record, attempt: 3 }))).toEqual([record, { ...record, attempt: 3 }]);
  });

  it('skips a line that is not whole', () => {
    expect(parseExecutionLog(`${formatExecutionLine(record)}1700000000200 3f1c2a9e`)).toEqual([record]);
  });

  it('appends to an existing file (a restarted host keeps its predecessor lines) and is off without a path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sched-execution-log-'));
    try {
      const path = join(dir, 'log');
      for (const pid of [1, 2]) {
        const log = ExecutionLog.open(path);
        log?.record({ ...record, pid });
        log?.close();
      }
      expect(parseExecutionLog(readFileSync(path, 'utf8')).map((r) => r.pid)).toEqual([1, 2]);
      expect(ExecutionLog.open(undefined)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
