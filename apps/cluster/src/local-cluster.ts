import { createApi, type Api } from '@sched/api';
import { loadCatalog, type Config, type Catalog } from '@sched/core';
import { createLogger, type Logger } from '@sched/runtime';
import { createDispatcher, type Dispatcher } from '@sched/dispatcher';
import { createWorkerHost, type WorkerHost } from '@sched/worker';

export interface LocalCluster {
  readonly config: Config;
  readonly api: Api;
  readonly apiUrl: string;
  readonly dispatcher: Dispatcher;
  readonly workers: WorkerHost;
  close(): Promise<void>;
}

export interface LocalClusterOptions {
  fleet?: Catalog;
  logger?: Logger;
}

/** api + dispatcher + worker host in one process, sharing one config: what `npm start` and the end-to-end tests run. */
export async function startLocalCluster(config: Config, options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const fleet = options.fleet ?? loadCatalog(config.FLEET_FILE);
  const logger = options.logger ?? createLogger('cluster', config.LOG_LEVEL);
  const workers = await createWorkerHost(config, { fleet, logger: logger.child({ app: 'worker' }) });
  const dispatcher = await createDispatcher(config, { fleet, logger: logger.child({ app: 'dispatcher' }) });
  const api = await createApi(config, { fleet, logger: logger.child({ app: 'api' }) });
  const port = await api.listen();
  // A wildcard address is reached on loopback; an IPv6 literal needs brackets in a URL.
  const host = config.API_HOST === '0.0.0.0' || config.API_HOST === '::' ? '127.0.0.1' : config.API_HOST.includes(':') ? `[${config.API_HOST}]` : config.API_HOST;
  return {
    config,
    api,
    apiUrl: `http://${host}:${port}`,
    dispatcher,
    workers,
    close: async () => {
      await api.close();
      await dispatcher.close();
      await workers.close();
    },
  };
}
