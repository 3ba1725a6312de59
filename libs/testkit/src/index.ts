export { RedisServer, freePort, type RedisServerOptions } from './redis-server.js';
export { TEST_WEBHOOK_SECRET, testConfig, testEnv } from './test-config.js';
export { REPO_ROOT, builtMain, killOnExit, spawnApp, waitFor, type AppName, type SpawnAppOptions, type SpawnedApp } from './spawn-app.js';
export { untilStatus } from './until-status.js';
export { RedisCommandStats, diffCommandStats, parseCommandStats, totalCalls, type CommandCounts, type CommandStatsSnapshot } from './redis-command-stats.js';
export { commandsPerJob, formatCommandsPerJob, type CommandsPerJob, type CommandsPerJobOptions } from './commands-per-job.js';
export { WebhookSink } from './webhook-sink.js';
export { rawRequest, type RawResponse } from './raw-http.js';
export { burstAgainstSteady, fairEnv, fairFleet, KEY_A, KEY_B, type FairRun } from './fair-share-run.js';
