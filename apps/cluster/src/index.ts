export { startLocalCluster, type LocalCluster, type LocalClusterOptions } from './local-cluster.js';
