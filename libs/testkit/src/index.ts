export { RedisServer, freePort, type RedisServerOptions } from './redis-server.js';
export { TEST_WEBHOOK_SECRET, testConfig, testEnv } from './test-config.js';
export { REPO_ROOT, builtMain, spawnApp, waitFor, type AppName, type SpawnAppOptions, type SpawnedApp } from './spawn-app.js';
export { untilStatus } from './until-status.js';
