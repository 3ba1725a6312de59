export { createWorkerHost, type WorkerHost, type WorkerHostOptions } from './create-worker-host.js';
export { SimulatedWorker } from './simulated-worker.js';
export { ExecutionLog, formatExecutionLine, parseExecutionLog, type ExecutionRecord } from './execution-log.js';
