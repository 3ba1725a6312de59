import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** JSON logs; pretty-printed when stdout is a terminal. Every line about a job carries `jobId`. */
export function createLogger(name: string, level: string = 'info'): Logger {
  const pretty = process.stdout.isTTY === true && process.env.LOG_FORMAT !== 'json';
  return pino({
    name,
    level,
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } }
      : {}),
  });
}
