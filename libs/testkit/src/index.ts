export { RedisServer, freePort, type RedisServerOptions } from './redis-server.js';
export { testConfig } from './test-config.js';
