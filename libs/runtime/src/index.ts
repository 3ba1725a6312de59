export * from './fleet-state.js';
export * from './job-reader.js';
export * from './logger.js';
export * from './redis.js';
export { withoutEventStream } from './bullmq-event-stream.js';
export * from './run-main.js';
export * from './webhook-outbox.js';
export * from './queue-options.js';
export * from './redis-errors.js';
