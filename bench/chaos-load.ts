import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, createClient, type SchedClient } from '@sched/client';
import { seededRng, type JobAccepted, type JobRequestInput, type JobView } from '@sched/core';
import { errorKind, poissonSchedule, runLoad, type LoadTarget } from '@sched/loadgen';
import { waitFor } from '@sched/testkit';
import { emptyTenantTally, type AcceptedJob, type SubmitTry, type TenantTally } from './chaos-report.js';

export interface TenantLoadOptions {
  readonly tenant: string;
  readonly apiKey: string;
  readonly apiUrl: string;
  readonly ratePerS: number;
  readonly seconds: number;
  readonly seed: number;
  readonly model: string;
}

/** The answers a careful client tries again: no answer, 429 and 5xx. */
function retryable(error: unknown): boolean {
  if (!(error instanceof ApiError)) return false;
  return error.status === undefined ? error.code !== 'wait_timeout' : error.status === 429 || error.status >= 500;
}

/** `call`, tried again after a retryable failure until `deadline` (then its error is thrown); undefined on a 404. */
async function retried<T>(call: () => Promise<T>, deadline: number): Promise<T | undefined> {
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return undefined;
      if (!retryable(error) || Date.now() > deadline) throw error;
      await sleep(500);
    }
  }
}

/** Tries per submission: the first and up to 4 retries with the same Idempotency-Key. */
const MAX_TRIES = 5;
const RETRY_DELAY_MS = 250;
const MAX_RETRY_DELAY_MS = 2000;

/**
 * One tenant's open-loop stream: Poisson arrivals at its rate through the load generator's runner,
 * each job long-polled to its end as a client would. A careful client: every submission carries an
 * Idempotency-Key and a 429, a 5xx or no answer is tried again with the same key (after
 * `Retry-After`, at most 2 s), so a refusal never leaves it unsure whether the job exists unless
 * every try went unanswered. It keeps every accepted id for the drain.
 */
export class TenantLoad {
  readonly tally: TenantTally;
  readonly accepted: AcceptedJob[] = [];
  private readonly client: SchedClient;
  private readonly abort = new AbortController();
  private readonly schedule: ReturnType<typeof poissonSchedule>;
  private readonly planned: number;
  private submitsInFlight = 0;
  private run: Promise<unknown> | null = null;

  constructor(private readonly options: TenantLoadOptions) {
    this.tally = emptyTenantTally(options.tenant);
    this.client = createClient({ baseUrl: options.apiUrl, apiKey: options.apiKey, timeoutMs: 10_000 });
    this.schedule = poissonSchedule(options.ratePerS, options.seconds, seededRng(options.seed));
    this.planned = this.schedule.offsetsMs.length;
  }

  start(): void {
    const { model, tenant } = this.options;
    const target: LoadTarget = {
      submit: (request) => this.submit(request),
      wait: (id, options) => this.client.wait(id, { ...options, timeoutS: 600 }),
    };
    this.run = runLoad(
      { schedule: this.schedule, maxOutstanding: 100_000, timeoutS: 600, requestFor: (seq) => ({ model, input: { tenant, seq } }) },
      { target, signal: this.abort.signal },
    );
  }

  /** Resolves once every planned job was submitted and its last try answered, or after `timeoutMs` with the submissions still unanswered (they then end as aborted). */
  async submitted(timeoutMs: number): Promise<number> {
    const done = (): boolean => this.tally.submissions === this.planned && this.submitsInFlight === 0;
    await waitFor(done, timeoutMs, `${this.options.tenant}'s submissions`).catch(() => undefined);
    return this.planned - this.tally.submissions + this.submitsInFlight;
  }

  /**
   * Waits until each accepted job has ended or `timeoutS` passed, and returns the last view of
   * every job the API knows. A 503, a timeout or a lost connection is tried again until then; an
   * id the wait calls unknown is read once more on its own before it counts as lost.
   */
  async drain(timeoutS: number): Promise<Map<string, JobView>> {
    const deadline = Date.now() + timeoutS * 1000;
    const views = new Map<string, JobView>();
    let pending = [...new Set(this.accepted.map((job) => job.id))];
    let unknown: string[] = [];
    while (pending.length > 0 && Date.now() < deadline) {
      const result = await retried(() => this.client.waitMany(pending, { timeoutS: Math.max(1, (deadline - Date.now()) / 1000) }), deadline);
      if (result === undefined) break;
      for (const view of result.jobs) views.set(view.id, view);
      unknown = result.unknown;
      pending = result.pending;
    }
    for (const id of unknown) {
      const view = await retried(() => this.client.get(id), Date.now() + 10_000);
      if (view !== undefined) views.set(id, view);
    }
    return views;
  }

  /** Stops the stream (waits still in flight are abandoned) and closes the client. */
  async stop(): Promise<void> {
    if (this.abort.signal.aborted) return;
    this.abort.abort();
    await this.run?.catch(() => undefined);
    await this.client.close();
  }

  private async submit(request: JobRequestInput): Promise<JobAccepted> {
    const { tally } = this;
    const key = `chaos-${this.options.seed}-${tally.submissions}`;
    tally.submissions += 1;
    this.submitsInFlight += 1;
    const tries: SubmitTry[] = [];
    try {
      for (;;) {
        try {
          const accepted = await this.client.submit(request, { idempotencyKey: key });
          tries.push({ at: Date.now(), outcome: '202' });
          tally.accepted += 1;
          this.accepted.push({ id: accepted.id, tenant: this.options.tenant, tries });
          return accepted;
        } catch (error) {
          tries.push({ at: Date.now(), outcome: errorKind(error) });
          const status = error instanceof ApiError ? error.status : undefined;
          if (status === 429) tally.responses429 += 1;
          else if (status === 503) tally.responses503 += 1;
          else if (status !== undefined && status >= 500) tally.responses5xx += 1;
          if (!retryable(error) || tries.length >= MAX_TRIES || this.abort.signal.aborted) {
            if (status === undefined) tally.unresolved += 1;
            const kind = errorKind(error);
            tally.refused[kind] = (tally.refused[kind] ?? 0) + 1;
            throw error;
          }
          const retryAfterMs = error instanceof ApiError && error.retryAfterS !== undefined ? error.retryAfterS * 1000 : RETRY_DELAY_MS;
          await sleep(Math.min(MAX_RETRY_DELAY_MS, retryAfterMs));
        }
      }
    } finally {
      this.submitsInFlight -= 1;
    }
  }
}
