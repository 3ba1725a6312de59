/**
 * Every Redis key and queue name the scheduler uses. BullMQ's own keys are
 * `<prefix>:<queue>:<suffix>`; ours sit in the same namespace so one prefix is
 * one isolated cluster. For Redis Cluster, wrapping the queue part of each name
 * in a hash tag (`{worker.gpu-0}`) is a change here only.
 */
export const INGRESS_QUEUE = 'ingress';
export const WEBHOOK_QUEUE = 'webhooks';
const WORKER_QUEUE_PREFIX = 'worker.';
/**
 * How often the expected wait is published by a dispatcher and read by an API (ms): at most 200 ms
 * whatever FLEET_REFRESH_MS is, since the API carries an estimate forward until the next one and
 * its error grows with the gap (a 3x overload bench: accepted p99 580 ms with 1 s, 320 ms with 200 ms).
 */
export function expectedWaitIntervalMs(fleetRefreshMs: number): number {
  return Math.min(fleetRefreshMs, 200);
}

/** What the dispatcher publishes at `expectedWait` for the API's admission guard. */
export interface PublishedWaits {
  /** When it was estimated (epoch ms). */
  at: number;
  /** Per model a live worker serves: how long a job submitted now should wait to start, in ms. */
  waitMs: Record<string, number>;
  /** Per model: how much each further job of it adds to that wait (ms), for jobs admitted since `at`. */
  perJobMs: Record<string, number>;
}

/** Our own keys use a pseudo-queue name that BullMQ never creates. */
const SCHED = 'sched';

export function workerQueueName(workerId: string): string {
  return WORKER_QUEUE_PREFIX + workerId;
}

export function workerIdOfQueue(queueName: string): string | null {
  return queueName.startsWith(WORKER_QUEUE_PREFIX) ? queueName.slice(WORKER_QUEUE_PREFIX.length) : null;
}

/** BullMQ's per-queue structures (lists, sorted sets, the stalled set, the meta hash). */
export type QueueStateKey = 'wait' | 'prioritized' | 'active' | 'delayed' | 'paused' | 'completed' | 'failed' | 'meta' | 'stalled';

export interface KeySpace {
  readonly prefix: string;
  /** Sorted set of every worker ever seen; score = last heartbeat (epoch ms). */
  readonly fleetSet: string;
  /** Pub/sub channel carrying one StatusMessage per job status change. */
  readonly statusChannel: string;
  /** Pub/sub channel carrying one FleetMessage when a worker joins, drains or leaves. */
  readonly fleetChannel: string;
  /** Pub/sub channel carrying the id of a job asked to be cancelled while a dispatcher holds it (`sed-late`). */
  readonly cancelChannel: string;
  workerDescriptor(workerId: string): string;
  /**
   * Jobs a dispatcher took out of a dead or draining worker's queue and has not yet put back in
   * ingress (hash: job id → `<claimedAt>|<attemptsStarted>|<from>|<data>`), so a dispatcher that
   * dies in between loses none. In the worker queue's namespace, so it shares that queue's slot.
   */
  recovering(workerId: string): string;
  /** Pub/sub channel carrying the id of a job its worker should stop (a DELETE of a running job); the host running that worker subscribes. */
  workerCancelChannel(workerId: string): string;
  queueKey(queue: string, state: QueueStateKey): string;
  jobHash(queue: string, jobId: string): string;
  jobLock(queue: string, jobId: string): string;
  /** The worker a job was routed to (a string), written before the job enters that worker's queue. */
  route(jobId: string): string;
  /** Small record of a job that left the queues without running (cancelled, expired). */
  terminal(jobId: string): string;
  /** Every submitted job by submission time (score ms), for listing newest first. */
  readonly jobIndex: string;
  /** The same, per model. */
  jobIndexByModel(model: string): string;
  /** The jobs of one owner (a tenant id), so a tenant's listing reads only its own jobs. */
  jobIndexByOwner(owner: string): string;
  /** The same, per owner and model. */
  jobIndexByOwnerModel(owner: string, model: string): string;
  /** Delivery state of a job's webhook (hash: state, attempts, lastStatus, lastError, deliveredAt). */
  webhookState(jobId: string): string;
  /** The first answer to an Idempotency-Key (keyed by the job id it maps to). */
  idempotency(jobId: string): string;
  /** Present (with a short TTL) while the add that an Idempotency-Key's pending record names may still land. */
  idempotencyInFlight(jobId: string): string;
  /** The expected wait per model the dispatcher publishes (a JSON `PublishedWaits`). */
  readonly expectedWait: string;
  /** Unfinished jobs of one owner with a max-in-flight limit (sorted set, score = acceptance ms). */
  inFlight(owner: string): string;
  /** Prefix of the per-key request-rate counters (rate-limit-redis). */
  readonly rateLimitPrefix: string;
  /** A tenant's usage counters (hash; fields in libs/core/src/tenant-usage.ts), kept with no expiry. */
  usage(owner: string): string;
  /** Fair sharing in one worker queue (hash: per priority its virtual time, epoch and top tag, per tenant its finish tag). */
  fairQueue(workerId: string): string;
  /** Fair sharing of held jobs (`sed-late`; hash: per priority and tenant its finish tag). */
  readonly fairHeld: string;
}

/**
 * The field of a worker queue's fair hash (`KeySpace.fairQueue`) that holds a priority band's
 * virtual time: the start tag of the latest job started there, written by the worker, read by the
 * dispatcher's tagging script.
 */
export function fairVirtualTimeField(priority: string): string {
  return `v:${priority}`;
}

export function keySpace(prefix: string): KeySpace {
  return Object.freeze({
    prefix,
    fleetSet: `${prefix}:${SCHED}:fleet`,
    statusChannel: `${prefix}:${SCHED}:status`,
    fleetChannel: `${prefix}:${SCHED}:fleet-events`,
    cancelChannel: `${prefix}:${SCHED}:cancel-requests`,
    workerDescriptor: (workerId: string) => `${prefix}:${workerQueueName(workerId)}:fleet`,
    recovering: (workerId: string) => `${prefix}:${workerQueueName(workerId)}:sched-recovering`,
    workerCancelChannel: (workerId: string) => `${prefix}:${workerQueueName(workerId)}:cancel`,
    queueKey: (queue: string, state: QueueStateKey) => `${prefix}:${queue}:${state}`,
    jobHash: (queue: string, jobId: string) => `${prefix}:${queue}:${jobId}`,
    jobLock: (queue: string, jobId: string) => `${prefix}:${queue}:${jobId}:lock`,
    route: (jobId: string) => `${prefix}:${SCHED}:route:${jobId}`,
    terminal: (jobId: string) => `${prefix}:${SCHED}:terminal:${jobId}`,
    webhookState: (jobId: string) => `${prefix}:${SCHED}:webhook:${jobId}`,
    idempotency: (jobId: string) => `${prefix}:${SCHED}:idem:${jobId}`,
    idempotencyInFlight: (jobId: string) => `${prefix}:${SCHED}:idem-inflight:${jobId}`,
    jobIndex: `${prefix}:${SCHED}:jobs`,
    jobIndexByModel: (model: string) => `${prefix}:${SCHED}:jobs:model:${model}`,
    expectedWait: `${prefix}:${SCHED}:expected-wait`,
    inFlight: (owner: string) => `${prefix}:${SCHED}:in-flight:${owner}`,
    rateLimitPrefix: `${prefix}:${SCHED}:rate:`,
    usage: (owner: string) => `${prefix}:${SCHED}:usage:${owner}`,
    fairQueue: (workerId: string) => `${prefix}:${workerQueueName(workerId)}:fair`,
    fairHeld: `${prefix}:${SCHED}:fair-held`,
    jobIndexByOwner: (owner: string) => `${prefix}:${SCHED}:jobs:owner:${owner}`,
    jobIndexByOwnerModel: (owner: string, model: string) => `${prefix}:${SCHED}:jobs:owner:${owner}:model:${model}`,
  });
}
