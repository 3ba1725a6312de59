export { burstSchedule, poissonSchedule, type ArrivalSchedule } from './arrival-schedule.js';
export { LoadArgsError, MODES, parseLoadArgs, USAGE, type LoadArgs, type LoadMode } from './load-args.js';
export { errorKind, LoadRecorder, type ErrorTally, type WorkerTally } from './load-recorder.js';
export { buildLoadReport, formatLoadReport, type LatencySummary, type LoadReport } from './load-report.js';
export { runLoad, type LoadPlan, type LoadRunnerDeps, type LoadTarget, type RunProgress } from './load-runner.js';
