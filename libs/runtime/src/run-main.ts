import { ConfigError, loadConfig, type Config, FleetFileError } from '@sched/core';

/**
 * The shared `main` of every app: validate the environment once (a bad variable
 * is one line and exit 1), start, and stop cleanly on SIGTERM/SIGINT within
 * SHUTDOWN_TIMEOUT_MS plus a margin, after which the process exits anyway.
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
  start(config).then((stop) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      const hardStop = setTimeout(() => {
        process.stderr.write(`${app}: shutdown deadline passed after ${signal}; exiting\n`);
        process.exit(1);
      }, config.SHUTDOWN_TIMEOUT_MS + 2000);
      hardStop.unref();
      stop().then(() => process.exit(0), fail);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }, fail);
}
