import { randomInt } from 'node:crypto';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import {
  BULLMQ_PRIORITY,
  INGRESS_QUEUE,
  encodeJobError,
  keySpace,
  latestStartAt,
  loadCatalog,
  seededRng,
  workerQueueName,
  type Config,
  type Catalog,
  type FleetMessage,
  type JobPayload,
  type Rng,
  type StatusMessage,
} from '@sched/core';
import { JobReader, WebhookOutbox, closeRedis, createLogger, createRedis, readFleetState, subscribeWhenReady, type Logger } from '@sched/runtime';
import { createPolicy, expectedDelayMs, expectedServiceMs, isLateBinding, LateBinder, leastExpectedDelay, removeIndices } from '@sched/policies';
import { LatencyModel } from '@sched/exec';
import { createDispatcherMetrics, createRegistry, mergeExpositions, startMetricsServer } from '@sched/telemetry';
import type { Registry } from 'prom-client';
import { DeadWorkerRecovery } from './dead-worker-recovery.js';
import { FleetView } from './fleet-view.js';
import { LatencySampler } from './latency-sampler.js';
import { WebhookSender } from './webhook-sender.js';

export interface DispatcherOptions {
  /** The model catalog, for expected service times. @defaultValue the fleet file named by FLEET_FILE */
  fleet?: Catalog;
  logger?: Logger;
  /** @defaultValue a random seed */
  rng?: Rng;
  /** Serve /metrics on DISPATCHER_METRICS_PORT. @defaultValue true */
  serveMetrics?: boolean;
}

export interface Dispatcher {
  readonly fleet: FleetView;
  readonly registry: Registry;
  readonly metricsPort: number | null;
  /** Recent routing-decision durations in microseconds. */
  readonly decisionMicros: LatencySampler;
  /** Re-read the fleet from Redis now. */
  refreshFleet(): Promise<void>;
  close(): Promise<void>;
}

/** Routes are kept this much longer than results, so a job that waits long in a worker queue keeps its route. */
const ROUTE_GRACE_S = 86_400;
/** A held job asked to be cancelled waits this long unlocked for the API to remove it, then is held again. */
const CANCEL_RELEASE_MS = 2000;

interface Claim {
  readonly workerId: string;
  readonly dispatchedAt: number;
}

type HeldOutcome = { kind: 'bound'; claim: Claim } | { kind: 'park' } | { kind: 'expired' } | { kind: 'cancel' } | { kind: 'lost' };

/** Held jobs kept below the ingress consumer's concurrency, so jobs of other models are still taken. */
const HELD_RESERVE = 8;
/** A cancel request for a job not (yet) held here is remembered this long. */
const CANCEL_MEMORY_MS = 5000;

interface Held {
  readonly job: Job<JobPayload>;
  /** BullMQ priority: lower goes first. */
  readonly rank: number;
  /** Submission time: a job that comes back (a dispatcher died) keeps its place in the line. */
  readonly at: number;
  readonly seq: number;
  readonly settle: (outcome: HeldOutcome) => void;
}

export async function createDispatcher(config: Config, options: DispatcherOptions = {}): Promise<Dispatcher> {
  const logger = options.logger ?? createLogger('dispatcher', config.LOG_LEVEL);
  const keys = keySpace(config.KEY_PREFIX);
  const policyName = config.SCHED_POLICY;
  const catalog = options.fleet ?? loadCatalog(config.FLEET_FILE);
  const latency = new LatencyModel(catalog.models);
  const policy = createPolicy(policyName, { sloMs: config.LATENCY_SLO_MS.defaultMs, sloMsByModel: config.LATENCY_SLO_MS.byModel });
  // `sed-late` holds jobs here (active in ingress, so a crash loses none) until a worker has room.
  const binder = isLateBinding(policyName) ? new LateBinder({ lookahead: config.DISPATCH_CONCURRENCY, prefetch: config.SED_LATE_PREFETCH }) : null;
  const rng = options.rng ?? seededRng(randomInt(2 ** 31));
  const registry = createRegistry('dispatcher');
  const metrics = createDispatcherMetrics(registry, config.METRICS_ENABLED);
  const decisionMicros = new LatencySampler();
  const expectedMs = (model: string, cls: string, size: JobPayload['size']): number =>
    latency.serves(model, cls) ? latency.expectedMs(model, cls, size) : 1;
  const fleet = new FleetView({ expectedServiceMs: expectedMs }, (cls, models) => {
    const known = models.filter((m) => latency.serves(m, cls));
    return known.length === 0 ? 1 : known.reduce((sum, m) => sum + latency.expectedMs(m, cls), 0) / known.length;
  });

  const redis = createRedis(config.REDIS_URL, 'service', { connectionName: 'dispatcher' });
  const subscriber = createRedis(config.REDIS_URL, 'blocking', { connectionName: 'dispatcher-sub' });
  for (const conn of [redis, subscriber]) conn.on('error', (error: Error) => logger.debug({ err: error.message }, 'redis error'));
  const queueOptions = { connection: redis, prefix: config.KEY_PREFIX, skipVersionCheck: true };
  const ingress = new Queue<JobPayload>(INGRESS_QUEUE, queueOptions);
  const workerQueues = new Map<string, Queue<JobPayload>>();
  const workerQueue = (workerId: string): Queue<JobPayload> => {
    let queue = workerQueues.get(workerId);
    if (!queue) {
      queue = new Queue<JobPayload>(workerQueueName(workerId), queueOptions);
      queue.on('error', (error: Error) => logger.debug({ err: error.message }, 'queue error'));
      workerQueues.set(workerId, queue);
    }
    return queue;
  };
  ingress.on('error', (error: Error) => logger.debug({ err: error.message }, 'queue error'));

  const publish = (message: StatusMessage): void => {
    redis.publish(keys.statusChannel, JSON.stringify(message)).catch((error: unknown) => {
      logger.warn({ jobId: message.id, err: String(error) }, 'could not publish status');
    });
  };

  const classOfLive = (workerId: string): string | undefined => {
    const position = fleet.index.indexOf(workerId);
    return position === -1 ? undefined : fleet.index.worker(position).class;
  };
  // A job failed here (deadline, no worker) reserves its webhook before it fails, releases it after.
  const outbox = new WebhookOutbox(redis, config);
  const classes = new Map(catalog.workers.map((w) => [w.id, w.class]));
  const sender =
    config.WEBHOOK_SECRET === undefined
      ? null
      : new WebhookSender({ config, keys, redis, metrics, logger, reader: new JobReader(redis, keys, (id) => classes.get(id) ?? classOfLive(id), catalog.models) }, config.WEBHOOK_SECRET);
  if (sender === null) logger.info('WEBHOOK_SECRET is not set: webhooks are not sent by this dispatcher');

  const recovery = new DeadWorkerRecovery({ config, keys, redis, ingress, workerQueue, publish, logger });
  const refreshFleet = async (): Promise<void> => {
    let readSeq = 0;
    const states = await readFleetState(redis, keys, () => (readSeq = fleet.markReadIssued()));
    const now = Date.now();
    const gained = fleet.apply(states, now, readSeq);
    recovery.check(states, now);
    updateFleetMetrics();
    bindHeld();
    // A model that had no worker now has one: parked jobs need not wait for their next re-check.
    if (gained) await ingress.promoteJobs();
  };

  // Jobs parked for want of a worker (by this dispatcher), for the backlog gauge. An entry outlives
  // its re-check by a margin: another dispatcher may have taken the job since, and it then lapses.
  const parkedJobs = new Map<string, { model: string; until: number }>();
  const classesServing = new Map(Object.entries(catalog.models).map(([model, byClass]) => [model, Object.keys(byClass)]));
  // Every class of the catalog shows on the dashboard even with no worker in some state (0, not absent).
  const catalogClasses = [...new Set(Object.values(catalog.models).flatMap((byClass) => Object.keys(byClass)))];
  const seenWorkers = new Set<string>();
  const updateFleetMetrics = (): void => {
    const now = Date.now();
    metrics.fleetWorkers.reset();
    metrics.backlog.reset();
    // A worker that left the fleet set must not keep its last heartbeat age forever.
    metrics.heartbeatAge.reset();
    for (const cls of catalogClasses) {
      metrics.backlog.set({ class: cls }, 0);
      for (const state of ['live', 'draining', 'down']) metrics.fleetWorkers.set({ class: cls, state }, 0);
    }
    for (const { view, state, heartbeatAt } of fleet.workers()) {
      if (!seenWorkers.has(view.id)) {
        seenWorkers.add(view.id);
        metrics.decisions.inc({ policy: policyName, class: view.class, worker: view.id }, 0);
      }
      metrics.fleetWorkers.inc({ class: view.class, state: state === 'dead' ? 'down' : state });
      metrics.heartbeatAge.set({ worker: view.id }, Math.max(0, (now - heartbeatAt) / 1000));
      metrics.backlog.inc({ class: view.class }, Math.max(0, view.depth - view.slots));
    }
    // A parked job is backlog of the one class that can serve its model (DESIGN: "jobs waiting that
    // only that class can serve"); one that several classes could serve is nobody's in particular.
    for (const [id, { model, until }] of parkedJobs) {
      if (until < now) parkedJobs.delete(id);
      else {
        const serving = classesServing.get(model) ?? [];
        if (serving.length === 1) metrics.backlog.inc({ class: serving[0] ?? '' });
      }
    }
  };

  /** Counts a dispatch in the view at once (before the add is out), so the next decision sees it. */
  const claim = (id: string, payload: JobPayload, workerId: string): Claim => {
    const position = fleet.index.indexOf(workerId);
    const worker = position === -1 ? undefined : fleet.index.worker(position);
    const dispatchedAt = Date.now();
    const seq = fleet.nextSendSeq();
    fleet.onDispatched(id, workerId, worker ? expectedServiceMs(payload, worker, fleet.index) : 0, dispatchedAt, seq);
    metrics.decisions.inc({ policy: policyName, class: worker?.class ?? 'unknown', worker: workerId });
    return { workerId, dispatchedAt };
  };

  const send = async (id: string, payload: JobPayload, { workerId, dispatchedAt }: Claim): Promise<{ worker: string }> => {
    // Route, then the `dispatched` message, then the job: one connection, so Redis applies them in this
    // order and no worker can report `running` before `dispatched` is out.
    const routeWritten = redis.set(keys.route(id), workerId, 'EX', config.RESULT_TTL_S + ROUTE_GRACE_S);
    publish({ id, status: 'dispatched', worker: workerId, at: dispatchedAt, attempt: 0 });
    try {
      await workerQueue(workerId).add('job', { ...payload, dispatchedAt }, {
        jobId: id,
        priority: BULLMQ_PRIORITY[payload.priority],
        attempts: config.MAX_ATTEMPTS,
        backoff: { type: 'exponential', delay: config.RETRY_BACKOFF_MS },
        removeOnComplete: { age: config.RESULT_TTL_S },
        removeOnFail: { age: config.RESULT_TTL_S },
      });
    } catch (error) {
      // Not in the worker's queue after all: uncount it (the ingress job is retried).
      fleet.onFinished(id, workerId, Date.now(), false);
      throw error;
    }
    await routeWritten;
    parkedJobs.delete(id);
    logger.debug({ jobId: id, worker: workerId }, 'dispatched');
    return { worker: workerId };
  };

  const failDeadline = async (id: string, payload: JobPayload): Promise<never> => {
    await outbox.reserve(id, payload);
    throw new UnrecoverableError(
      encodeJobError({ code: 'deadline_exceeded', message: `no worker can finish it within its ${payload.deadlineMs} ms deadline; not run` }),
    );
  };

  const dispatch = async (job: Job<JobPayload>, token: string | undefined): Promise<{ worker: string }> => {
    const id = job.id ?? '';
    const payload = job.data;
    // A job picked up before (the previous dispatcher died mid-way) keeps the route it already has.
    const routed = job.attemptsStarted > 1 ? await redis.get(keys.route(id)) : null;
    if (routed !== null) return send(id, payload, claim(id, payload, routed));
    if ((latestStartAt(catalog.models, payload) ?? Infinity) < Date.now()) return failDeadline(id, payload);
    if (binder !== null) {
      const outcome = await hold(job);
      if (outcome.kind === 'bound') return send(id, payload, outcome.claim);
      if (outcome.kind === 'expired') return failDeadline(id, payload);
      if (outcome.kind === 'park') return park(job, token);
      // Its lock lapsed (BullMQ could not renew it): the job is back in ingress for whoever takes it.
      if (outcome.kind === 'lost') throw new Error('ingress lock lost while held');
      // Asked to cancel: step out of the way (delayed, unlocked) so the API can remove it.
      await job.moveToDelayed(Date.now() + CANCEL_RELEASE_MS, token);
      throw new DelayedError();
    }
    const started = process.hrtime.bigint();
    const workerId = meetDeadline(payload, policy(payload, fleet.index, rng));
    const micros = Number(process.hrtime.bigint() - started) / 1000;
    metrics.decisionDuration.observe(micros / 1e6);
    decisionMicros.record(micros);
    if (workerId === null) return park(job, token);
    return send(id, payload, claim(id, payload, workerId));
  };

  // Late binding: the jobs held, in priority then submission order.
  const held: Held[] = [];
  let heldSeq = 0;
  let closingDown = false;
  const maxHeld = Math.max(1, config.DISPATCH_CONCURRENCY - HELD_RESERVE);
  const recentCancels = new Map<string, number>();
  /** Removes the held entry of job `id`, if any, and returns it. */
  const takeHeld = (id: string): Held | undefined => {
    const index = held.findIndex((entry) => entry.job.id === id);
    return index === -1 ? undefined : held.splice(index, 1)[0];
  };
  const hold = (job: Job<JobPayload>): Promise<HeldOutcome> =>
    new Promise((settle) => {
      const id = job.id ?? '';
      const cancelAsked = recentCancels.get(id);
      if (cancelAsked !== undefined) {
        recentCancels.delete(id);
        if (cancelAsked > Date.now()) return settle({ kind: 'cancel' });
      }
      // The same job held twice means its lock lapsed and it came back: only the newer hold counts.
      takeHeld(id)?.settle({ kind: 'lost' });
      const entry: Held = { job, rank: BULLMQ_PRIORITY[job.data.priority], at: job.data.createdAt, seq: heldSeq++, settle };
      // Binary search for the first entry that goes after this one.
      let lo = 0;
      let hi = held.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const other = held[mid] as Held;
        const before = other.rank < entry.rank || (other.rank === entry.rank && (other.at < entry.at || (other.at === entry.at && other.seq < entry.seq)));
        if (before) lo = mid + 1;
        else hi = mid;
      }
      held.splice(lo, 0, entry);
      if (closingDown) return releaseHeld();
      if (held.length > maxHeld) {
        // Full: the first held job of this model is bound now, as `sed` would, to keep room for others.
        const first = held.findIndex((other) => other.job.data.model === job.data.model);
        const [overflow] = held.splice(first, 1);
        if (overflow !== undefined) bindNow(overflow);
      }
      bindHeld();
    });

  /** One LateBinder round: binds the held jobs that go to a worker now; parks or fails those that cannot wait. */
  const bindHeld = (freedWorker?: string): void => {
    if (binder === null || held.length === 0) return;
    const now = Date.now();
    for (let i = held.length - 1; i >= 0; i--) {
      const entry = held[i] as Held;
      const payload = entry.job.data;
      let outcome: HeldOutcome | null = null;
      if (fleet.index.eligible(payload.model).length === 0) outcome = { kind: 'park' };
      else if (payload.deadlineMs !== undefined && (latestStartAt(catalog.models, payload) ?? Infinity) < now) outcome = { kind: 'expired' };
      if (outcome !== null) {
        held.splice(i, 1);
        entry.settle(outcome);
      }
    }
    const bound: number[] = [];
    const freedAt = freedWorker === undefined ? -1 : fleet.index.indexOf(freedWorker);
    const freed = freedAt === -1 ? undefined : fleet.index.worker(freedAt);
    const started = process.hrtime.bigint();
    binder.round(
      held.length,
      (i) => (held[i] as Held).job.data,
      fleet.index,
      rng,
      (i, workerId) => {
        const entry = held[i] as Held;
        bound.push(i);
        entry.settle({ kind: 'bound', claim: claim(entry.job.id ?? '', entry.job.data, workerId) });
      },
      freed,
    );
    if (bound.length > 0) {
      // A round's cost, shared by the jobs it bound.
      const micros = Number(process.hrtime.bigint() - started) / 1000 / bound.length;
      for (let k = 0; k < bound.length; k++) {
        metrics.decisionDuration.observe(micros / 1e6);
        decisionMicros.record(micros);
      }
      removeIndices(held, bound);
    }
  };

  /** Binds a held job at once with the per-job rule (`sed`), room or not. */
  const bindNow = (entry: Held): void => {
    const workerId = meetDeadline(entry.job.data, policy(entry.job.data, fleet.index, rng));
    entry.settle(workerId === null ? { kind: 'park' } : { kind: 'bound', claim: claim(entry.job.id ?? '', entry.job.data, workerId) });
  };

  /** Binds every held job now: on close, so none waits for a lock to lapse. */
  const releaseHeld = (): void => {
    for (const entry of held.splice(0)) bindNow(entry);
  };

  /**
   * Whatever the policy, a job with a deadline never goes to a worker whose expected
   * completion misses it while another eligible worker can make it (then: the soonest).
   */
  const meetDeadline = (job: JobPayload, chosen: string | null): string | null => {
    if (job.deadlineMs === undefined || chosen === null) return chosen;
    const remainingMs = job.createdAt + job.deadlineMs - Date.now();
    const position = fleet.index.indexOf(chosen);
    if (position === -1 || expectedDelayMs(job, fleet.index.worker(position), fleet.index) <= remainingMs) return chosen;
    const soonest = leastExpectedDelay(job, fleet.index.eligible(job.model), fleet.index, rng);
    return soonest !== null && expectedDelayMs(job, soonest, fleet.index) <= remainingMs ? soonest.id : chosen;
  };

  const park = async (job: Job<JobPayload>, token: string | undefined): Promise<never> => {
    const id = job.id ?? '';
    const waited = Date.now() - job.data.createdAt;
    if (waited >= config.NO_WORKER_TIMEOUT_MS) {
      await outbox.reserve(id, job.data);
      throw new UnrecoverableError(
        encodeJobError({ code: 'no_worker', message: `no live worker serves model "${job.data.model}" (waited ${waited} ms)` }),
      );
    }
    logger.debug({ jobId: id, model: job.data.model }, 'no worker serves the model; parked');
    parkedJobs.set(id, { model: job.data.model, until: Date.now() + 2 * config.PARK_RECHECK_MS + 1000 });
    await job.moveToDelayed(Date.now() + config.PARK_RECHECK_MS, token);
    throw new DelayedError();
  };

  await refreshFleet().catch((error: unknown) => logger.warn({ err: String(error) }, 'initial fleet read failed'));

  subscriber.on('message', (channel: string, text: string) => {
    try {
      if (channel === keys.statusChannel) {
        const message = JSON.parse(text) as StatusMessage;
        const finished = message.status === 'completed' || message.status === 'failed' || message.status === 'cancelled' || message.retry === true;
        if (finished && message.worker !== undefined) {
          fleet.onFinished(message.id, message.worker, Date.now(), message.retry !== true);
          bindHeld(message.worker);
        }
      } else if (channel === keys.cancelChannel) {
        const entry = takeHeld(text);
        if (entry !== undefined) entry.settle({ kind: 'cancel' });
        else {
          // Not held (yet): it may be between BullMQ's fetch and the hold.
          const now = Date.now();
          for (const [id, until] of recentCancels) if (until < now) recentCancels.delete(id);
          recentCancels.set(text, now + CANCEL_MEMORY_MS);
        }
      } else if (channel === keys.fleetChannel) {
        const message = JSON.parse(text) as FleetMessage;
        if (message.event === 'joined') void refreshFleet().catch(() => undefined);
        else fleet.markUnavailable(message.worker);
      }
    } catch (error) {
      logger.warn({ err: String(error) }, 'bad pub/sub message');
    }
  });
  await subscribeWhenReady(subscriber, binder === null ? [keys.statusChannel, keys.fleetChannel] : [keys.statusChannel, keys.fleetChannel, keys.cancelChannel]);

  const refreshTimer = setInterval(() => {
    refreshFleet().catch((error: unknown) => logger.warn({ err: String(error) }, 'fleet refresh failed'));
  }, config.FLEET_REFRESH_MS);

  // BullMQ does not close a connection it was given; close() does.
  const consumerConnection = createRedis(config.REDIS_URL, 'blocking', { connectionName: 'dispatcher-ingress' });
  consumerConnection.on('error', () => undefined);
  const consumer = new Worker<JobPayload>(INGRESS_QUEUE, dispatch, {
    connection: consumerConnection,
    prefix: config.KEY_PREFIX,
    concurrency: config.DISPATCH_CONCURRENCY,
    lockDuration: config.LOCK_DURATION_MS,
    stalledInterval: config.LOCK_DURATION_MS,
    // Not skipVersionCheck: BullMQ would assume Redis 5 and wait whole seconds for parked jobs.
  });
  consumer.on('failed', (job, error) => {
    if (!job) return;
    // finishedOn is set only when no attempt is left (a passing Redis error is retried).
    if (job.finishedOn === undefined) return;
    parkedJobs.delete(job.id ?? '');
    publish({ id: job.id ?? '', status: 'failed', at: Date.now() });
    outbox.release(job.id ?? '', job.data).catch((e: unknown) => logger.warn({ jobId: job.id, err: String(e) }, 'could not release webhook; it goes out after the re-check delay'));
    logger.warn({ jobId: job.id, err: error.message }, 'job failed before dispatch');
  });
  consumer.on('error', (error) => logger.warn({ err: error.message }, 'ingress consumer error'));
  consumer.on('lockRenewalFailed', (ids: string[]) => {
    for (const id of ids) takeHeld(id)?.settle({ kind: 'lost' });
  });

  // Queue counts come from BullMQ's own exporter: ingress and every worker queue this dispatcher knows.
  const queueMetrics = async (): Promise<string> => {
    for (const { view } of fleet.workers()) workerQueue(view.id);
    return mergeExpositions(await Promise.all([ingress, ...workerQueues.values()].map((q) => q.exportPrometheusMetrics())));
  };
  const metricsServer =
    options.serveMetrics === false ? null : await startMetricsServer(registry, config.DISPATCHER_METRICS_PORT, '0.0.0.0', queueMetrics);
  logger.info({ policy: policyName, metricsPort: metricsServer?.port }, 'dispatcher started');

  let closing: Promise<void> | null = null;
  const close = async (): Promise<void> => {
    clearInterval(refreshTimer);
    closingDown = true;
    const closed = consumer.close();
    releaseHeld();
    await closed;
    if (sender !== null) await sender.close();
    await Promise.all([outbox.close(), ingress.close(), ...[...workerQueues.values()].map((q) => q.close())]);
    await Promise.all([closeRedis(redis), closeRedis(subscriber), closeRedis(consumerConnection)]);
    if (metricsServer) await new Promise<void>((resolve) => metricsServer.server.close(() => resolve()));
    logger.info('dispatcher stopped');
  };

  return {
    fleet,
    registry,
    metricsPort: metricsServer?.port ?? null,
    decisionMicros,
    refreshFleet,
    close: () => (closing ??= close()),
  };
}
