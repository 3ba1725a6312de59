export * from './batcher.js';
export * from './cost.js';
export * from './latency.js';
export * from './output.js';
export * from './trace.js';
export * from './workload/arrival-process.js';
export * from './workload/model-mix.js';
