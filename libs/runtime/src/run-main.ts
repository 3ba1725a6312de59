import { ConfigError, loadConfig, type Config, FleetFileError } from '@sched/core';
import { createLogger, type Logger } from './logger.js';

/**
 * A process-wide fault (a promise rejected with no handler, an exception thrown out of a callback):
 * logged at `fatal`, then `shutdown(1)` — the process's normal stop with a deadline, then a non-zero
 * exit. Never silent, never carrying on in an unknown state. A second fault while stopping is logged
 * and left to the stop's deadline.
 */
export function exitOnProcessFault(logger: Pick<Logger, 'fatal'>, shutdown: (exitCode: number) => void): void {
  let faulted = false;
  const onFault = (kind: string) => (error: unknown) => {
    logger.fatal({ err: error }, faulted ? `${kind} while stopping` : `${kind}; stopping`);
    if (faulted) return;
    faulted = true;
    shutdown(1);
  };
  process.on('unhandledRejection', onFault('unhandled promise rejection'));
  process.on('uncaughtException', onFault('uncaught exception'));
}

/**
 * The shared `main` of every app: validate the environment once (a bad variable
 * is one line and exit 1), start, and stop cleanly on SIGTERM/SIGINT within
 * SHUTDOWN_TIMEOUT_MS plus a margin, after which the process exits anyway. An
 * unhandled rejection or uncaught exception stops it the same way, exiting 1.
 */
export function runMain(app: string, start: (config: Config) => Promise<() => Promise<void>>): void {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${app}: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const fail = (error: unknown): never => {
    const message = error instanceof FleetFileError || error instanceof Error ? error.message : String(error);
    process.stderr.write(`${app}: ${message}\n`);
    process.exit(1);
  };
  let stopApp: (() => Promise<void>) | null = null;
  let stopping = false;
  const shutdown = (exitCode: number, reason: string): void => {
    if (stopping) return;
    stopping = true;
    const hardStop = setTimeout(() => {
      process.stderr.write(`${app}: shutdown deadline passed after ${reason}; exiting\n`);
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS + 2000);
    hardStop.unref();
    // A fault during start-up: nothing to stop yet.
    if (stopApp === null) process.exit(exitCode);
    else stopApp().then(() => process.exit(exitCode), fail);
  };
  exitOnProcessFault(createLogger(app, config.LOG_LEVEL), (exitCode) => shutdown(exitCode, 'a process fault'));
  start(config).then((stop) => {
    stopApp = stop;
    const onSignal = (signal: NodeJS.Signals): void => shutdown(0, signal);
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }, fail);
}
