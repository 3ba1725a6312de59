import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { RedisErrorLog } from '../src/redis-errors.js';

function recorder() {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (_obj: object, msg: string) => void lines.push({ level, msg });
  return { lines, logger: { warn: at('warn'), info: at('info'), debug: at('debug') } };
}

describe('RedisErrorLog', () => {
  it('marks Redis unreachable on a connection error and reachable again on ready, logging each change once', () => {
    const { lines, logger } = recorder();
    const log = new RedisErrorLog(logger);
    const connection = new EventEmitter();
    log.watchConnection(connection, 'api');
    expect(log.reachable).toBe(true);
    for (let i = 0; i < 5; i++) connection.emit('error', new Error('ECONNREFUSED'));
    expect(log.reachable).toBe(false);
    connection.emit('ready');
    expect(log.reachable).toBe(true);
    expect(lines.map((l) => l.level)).toEqual(['warn', 'debug', 'debug', 'debug', 'debug', 'info']);
  });

  it('does not take a queue error for an outage: it is a warning while Redis is reachable', () => {
    const { lines, logger } = recorder();
    const log = new RedisErrorLog(logger);
    const worker = new EventEmitter();
    log.watch(worker, 'worker gpu-0');
    worker.emit('error', new Error('Missing lock for job 1'));
    worker.emit('error', new Error('Missing lock for job 2'));
    expect(log.reachable).toBe(true);
    expect(lines.map((l) => l.level)).toEqual(['warn', 'warn']);
  });

  it('keeps queue errors quiet during an outage', () => {
    const { lines, logger } = recorder();
    const log = new RedisErrorLog(logger);
    const connection = new EventEmitter();
    const queue = new EventEmitter();
    log.watchConnection(connection, 'c');
    log.watch(queue, 'q');
    connection.emit('error', new Error('ECONNREFUSED'));
    queue.emit('error', new Error('ECONNREFUSED'));
    expect(lines.map((l) => l.level)).toEqual(['warn', 'debug']);
  });
});
