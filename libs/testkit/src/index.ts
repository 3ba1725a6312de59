export { RedisServer, freePort, type RedisServerOptions } from './redis-server.js';
export { TEST_WEBHOOK_SECRET, testConfig } from './test-config.js';
export { REPO_ROOT, spawnApp, waitFor, type SpawnedApp } from './spawn-app.js';
