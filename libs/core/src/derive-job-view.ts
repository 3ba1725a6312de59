import { decodeJobError, isCancelledReason } from './errors.js';
import { ANONYMOUS_TENANT_ID } from './tenants.js';
import { WEBHOOK_STATES, executionsStarted, type JobPayload, type JobResult, type JobStatus, type JobView, type WebhookState, type WebhookView } from './job-view.js';

/** The raw hashes one read of a job brings back (see JobGateway.read). */
export interface JobRecords {
  id: string;
  /** The ingress job's hash; empty once it was dispatched (removed on completion). */
  ingress: Record<string, string>;
  /** The worker the job was routed to, or null. */
  route: string | null;
  /** The worker-queue job's hash; empty when not (yet, or any more) there. */
  workerJob: Record<string, string>;
  /** Whether the worker-queue job holds a lock, i.e. is executing now. */
  locked: boolean;
  /** The job's webhook delivery record (`keys.webhookState`); empty before the first attempt. */
  webhook?: Record<string, string>;
  /** Class of the routed worker, from the fleet catalog. */
  workerClass: string | undefined;
  /** For jobs with a deadline: the latest start that can still meet it (see `latestStartAt`). */
  latestStart?: (payload: JobPayload, workerClass: string | undefined) => number | undefined;
  now?: number;
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());
const num = (s: string | undefined): number | undefined => (s === undefined || s === '' ? undefined : Number(s));

/** A job's public view and the tenant that owns it (which the view does not show). */
export interface OwnedJob {
  view: JobView;
  owner: string;
}

/** A payload as stored: jobs submitted before owners were recorded have none. */
type StoredPayload = Omit<JobPayload, 'owner'> & { owner?: string };

/**
 * Derives the public view from the queue state itself, with the job's owner (`anonymous` for a job
 * that has none); null when neither the ingress job nor the worker job exists (unknown or expired).
 */
export function deriveOwnedJob(records: JobRecords): OwnedJob | null {
  const inWorker = records.workerJob.data !== undefined;
  const source = inWorker ? records.workerJob : records.ingress;
  if (source.data === undefined) return null;
  const stored = JSON.parse(source.data) as StoredPayload;
  const payload: JobPayload = { ...stored, owner: stored.owner ?? ANONYMOUS_TENANT_ID };

  let status: JobStatus;
  let finishedOn: number | undefined;
  let startedOn: number | undefined;
  if (inWorker) {
    const job = records.workerJob;
    finishedOn = num(job.finishedOn);
    startedOn = num(job.processedOn);
    // A running job cancelled by its owner ends failed in BullMQ (so it is not retried), marked as cancelled.
    if (finishedOn !== undefined) status = job.returnvalue !== undefined ? 'completed' : isCancelledReason(job.failedReason) ? 'cancelled' : 'failed';
    else if (records.locked) status = 'running';
    else status = 'dispatched';
  } else {
    finishedOn = num(records.ingress.finishedOn);
    status = finishedOn !== undefined && records.ingress.failedReason !== undefined ? 'failed' : 'queued';
  }

  // A job that can no longer start in time reads as failed wherever it waits; the worker skips it.
  const deadlineMissed =
    (status === 'queued' || status === 'dispatched') &&
    (records.latestStart?.(payload, inWorker ? records.workerClass : undefined) ?? Infinity) < (records.now ?? Date.now());
  if (deadlineMissed) status = 'failed';

  const view: JobView = {
    id: records.id,
    status,
    model: payload.model,
    priority: payload.priority,
    attempts: executionsStarted(payload, inWorker ? Number(records.workerJob.ats ?? 0) : 0),
    timings: { createdAt: new Date(payload.createdAt).toISOString() },
  };
  if (inWorker && records.route !== null) {
    view.worker = { id: records.route, class: records.workerClass ?? 'unknown' };
  }
  if (status === 'completed' && source.returnvalue !== undefined) {
    view.result = JSON.parse(source.returnvalue) as JobResult;
  }
  if (deadlineMissed) view.error = { code: 'deadline_exceeded', message: `cannot start in time for its ${payload.deadlineMs} ms deadline` };
  else if (status === 'failed') view.error = decodeJobError(source.failedReason ?? 'execution_failed: unknown failure');
  if (payload.metadata !== undefined) view.metadata = payload.metadata;
  if (payload.deadlineMs !== undefined) view.deadlineMs = payload.deadlineMs;
  if (payload.retryOf !== undefined) view.retryOf = payload.retryOf;
  if (payload.webhook !== undefined) view.webhook = webhookView(records.webhook ?? {});

  const t = view.timings;
  if (payload.dispatchedAt !== undefined && inWorker) t.dispatchedAt = iso(payload.dispatchedAt);
  if (startedOn !== undefined && inWorker) {
    t.startedAt = iso(startedOn);
    t.queueMs = startedOn - payload.createdAt;
  }
  if (finishedOn !== undefined) {
    t.finishedAt = iso(finishedOn);
    t.totalMs = finishedOn - payload.createdAt;
    if (startedOn !== undefined && inWorker) t.serviceMs = finishedOn - startedOn;
  }
  return { view, owner: payload.owner };
}

/**
 * The record of a job that left the queues without running (`keys.terminal`): its view then, with
 * its owner beside the view's fields (a record written before owners were recorded has none).
 */
export function encodeTerminalRecord(job: OwnedJob): string {
  return JSON.stringify({ ...job.view, owner: job.owner });
}

export function decodeTerminalRecord(text: string): OwnedJob {
  const { owner, ...view } = JSON.parse(text) as JobView & { owner?: string };
  return { view, owner: owner ?? ANONYMOUS_TENANT_ID };
}

/** The delivery record as the job view shows it; `pending` until the sender first writes it. */
export function webhookView(record: Record<string, string>): WebhookView {
  const state = (WEBHOOK_STATES as readonly string[]).includes(record.state ?? '') ? (record.state as WebhookState) : 'pending';
  const view: WebhookView = { state, attempts: Number(record.attempts ?? 0) };
  if (record.lastStatus !== undefined && record.lastStatus !== '') view.lastStatus = Number(record.lastStatus);
  if (record.lastError !== undefined && record.lastError !== '') view.lastError = record.lastError;
  if (record.deliveredAt !== undefined && record.deliveredAt !== '') view.deliveredAt = new Date(Number(record.deliveredAt)).toISOString();
  return view;
}
