// The apps the image runs, chosen by APP, and where each one answers a health check. Plain
// JavaScript: the image holds built code only. One home for both the entry point and the check.

/** Each app: its built entry point (relative to this file), and the endpoint its health check reads from the app's own config. */
export const APPS = {
  // Readiness: the API answers and reaches Redis.
  api: { main: '../../apps/api/dist/main.js', health: (config) => ({ host: config.API_HOST, port: config.API_PORT, path: '/readyz' }) },
  // The dispatcher and the worker host serve /metrics only; it answers 200 once they run and their
  // queues' counts come back from Redis (else 500).
  dispatcher: { main: '../../apps/dispatcher/dist/main.js', health: (config) => ({ host: config.METRICS_HOST, port: config.DISPATCHER_METRICS_PORT, path: '/metrics' }) },
  worker: { main: '../../apps/worker/dist/main.js', health: (config) => ({ host: config.METRICS_HOST, port: config.WORKER_METRICS_PORT, path: '/metrics' }) },
};

/** The app APP names, or a one-line reason and exit 2. */
export function chosenApp(env = process.env) {
  const name = env.APP ?? '';
  if (Object.hasOwn(APPS, name)) return { name, ...APPS[name] };
  process.stderr.write(`image: APP must be one of ${Object.keys(APPS).join(', ')} (got ${JSON.stringify(name)})\n`);
  process.exit(2);
}
