export * from './batcher.js';
export * from './cost.js';
export * from './latency.js';
export * from './output.js';
export * from './trace.js';
