export { createDispatcher, type Dispatcher, type DispatcherOptions } from './create-dispatcher.js';
export { FleetTracker, type TrackedWorker } from './fleet-tracker.js';
