export * from './latency.js';
export * from './output.js';
