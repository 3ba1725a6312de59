export { createDispatcher, type Dispatcher, type DispatcherOptions } from './create-dispatcher.js';
export { FleetView, type TrackedWorker } from './fleet-view.js';
