export { createDispatcher, type Dispatcher, type DispatcherOptions } from './create-dispatcher.js';
export { FleetView, type FleetViewWorker } from './fleet-view.js';
export { DeadWorkerRecovery, type DeadWorkerRecoveryOptions } from './dead-worker-recovery.js';
export { IngressWaiting, type IngressWaitingOptions } from './ingress-waiting.js';
