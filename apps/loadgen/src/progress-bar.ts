import cliProgress from 'cli-progress';
import type { RunProgress } from './load-runner.js';

export interface ProgressDisplay {
  update(progress: RunProgress): void;
  stop(): void;
}

const SILENT: ProgressDisplay = { update: () => undefined, stop: () => undefined };

/** A live bar of finished jobs on stderr; silent when `enabled` is false (no TTY, or --json). */
export function createProgressDisplay(mode: string, total: number, enabled: boolean): ProgressDisplay {
  if (!enabled) return SILENT;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${mode} {bar} {value}/{total} done | {inFlight} in flight | {failed} errors | {duration_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { inFlight: 0, failed: 0 });
  return {
    update: (progress) => bar.update(progress.finished, { inFlight: progress.inFlight, failed: progress.failed }),
    stop: () => bar.stop(),
  };
}
