export { createDispatcher, type Dispatcher, type DispatcherOptions } from './create-dispatcher.js';
export { FleetView, type FleetViewWorker } from './fleet-view.js';
