// Fixtures that register vitest hooks. A separate entry: what `npm start` imports from the kit
// (the redis-server launcher) must not load vitest, a development dependency.
export { useRedis, type RedisFixture, type UseRedisOptions } from './use-redis.js';
export { useTestCluster, type ClusterUnderTest, type TestCluster, type UseTestClusterOptions } from './use-test-cluster.js';
