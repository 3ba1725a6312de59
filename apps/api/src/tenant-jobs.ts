import { canSeeJob, type JobListCursor, type JobView, type OwnedJob, type PendingState, type Tenant } from '@sched/core';
import type { JobGateway, SubmitAccepted, SubmitItem, SubmitResult } from './job-gateway.js';

/** The gateway calls a tenant's view of the jobs is made of. */
export type TenantJobsSource = Pick<
  JobGateway,
  'readOwned' | 'readManyOwned' | 'readPayload' | 'list' | 'submit' | 'submitMany' | 'remove' | 'requestCancel' | 'requestStop' | 'recordTerminal' | 'purge' | 'expiresAt'
>;

/**
 * The jobs one tenant may see and act on: the one home of the isolation rule (canSeeJob). A job
 * another tenant owns reads as null here, exactly like an unknown id, so every route built on it
 * answers 404 `job_not_found` for it, and nothing tells the two apart. Admins see every job. Made
 * per request (`JobGateway.visibleTo(tenant)`); the jobs it submits are owned by its tenant.
 */
export class TenantJobs {
  /** The owner of each job this caller was shown, so a record it writes for one keeps its owner (an admin's cancel). */
  private readonly owners = new Map<string, string>();

  constructor(
    private readonly source: TenantJobsSource,
    readonly viewer: Tenant,
  ) {}

  /** The job's view; null when unknown, expired, or not this tenant's. */
  async read(id: string, knownRoute?: string): Promise<JobView | null> {
    return this.shown(await this.source.readOwned(id, knownRoute));
  }

  /** Many jobs' views, in the order asked (see JobGateway.readManyOwned); null as for {@link read}. */
  async readMany(ids: readonly string[], knownRoutes?: ReadonlyMap<string, string>): Promise<(JobView | null)[]> {
    return (await this.source.readManyOwned(ids, knownRoutes)).map((job) => this.shown(job));
  }

  /** The job with its owner; null as for {@link read}. */
  async readOwned(id: string): Promise<OwnedJob | null> {
    const job = await this.source.readOwned(id);
    return this.shown(job) === null ? null : job;
  }

  /** A listing page of this tenant's jobs (every job's for an admin). */
  list(filter: { status?: JobView['status']; model?: string; limit: number; cursor?: JobListCursor }): Promise<{ jobs: JobView[]; next?: JobListCursor }> {
    return this.source.list(filter, this.viewer);
  }

  /** Adds a job owned by this tenant, with its fair-sharing weight. */
  submit(item: SubmitItem): Promise<SubmitAccepted> {
    return this.source.submit({ ...item, weight: this.viewer.limits.weight }, this.viewer.id);
  }

  submitMany(items: readonly SubmitItem[]): Promise<SubmitResult[]> {
    const weight = this.viewer.limits.weight;
    return this.source.submitMany(
      items.map((item) => ({ ...item, weight })),
      this.viewer.id,
    );
  }

  /**
   * A job submitted again from one this tenant was shown (`item.retryOf`): it belongs to that job's
   * owner, not to an admin retrying it, and keeps the weight it was submitted with (`item.weight`).
   */
  resubmit(item: SubmitItem & { retryOf: string }): Promise<SubmitAccepted> {
    return this.source.submit(item, this.mustHaveSeen(item.retryOf));
  }

  /** The payload of a job this tenant was shown. */
  readPayload(id: string): ReturnType<TenantJobsSource['readPayload']> {
    this.mustHaveSeen(id);
    return this.source.readPayload(id);
  }

  /** Deletes the data of a job this tenant was shown (see JobGateway.purge); `view` is how it was read. */
  async purge(view: Pick<JobView, 'id' | 'model' | 'worker'>): Promise<void> {
    const owner = this.mustHaveSeen(view.id);
    await this.source.purge({ id: view.id, owner, model: view.model, ...(view.worker === undefined ? {} : { workerId: view.worker.id }) });
  }

  /** See JobGateway.remove; only for a job this tenant was shown. */
  async remove(id: string, workerId?: string): Promise<boolean> {
    this.mustHaveSeen(id);
    return this.source.remove(id, workerId);
  }

  async requestCancel(id: string): Promise<void> {
    this.mustHaveSeen(id);
    await this.source.requestCancel(id);
  }

  /** Asks the host running a job this tenant was shown to stop it (see JobGateway.requestStop). */
  async requestStop(id: string, workerId: string): Promise<number> {
    this.mustHaveSeen(id);
    return this.source.requestStop(id, workerId);
  }

  /** When a waiting job's deadline passes unannounced (see JobGateway.expiresAt); reads nothing. */
  expiresAt(state: PendingState): number | undefined {
    return this.source.expiresAt(state);
  }

  /** The terminal record of a job this tenant was shown, under its owner. */
  async recordTerminal(view: JobView): Promise<void> {
    await this.source.recordTerminal({ view, owner: this.mustHaveSeen(view.id) });
  }

  private shown(job: OwnedJob | null): JobView | null {
    if (job === null || !canSeeJob(this.viewer, job.owner)) return null;
    this.owners.set(job.view.id, job.owner);
    return job.view;
  }

  /** A write to a job needs a read of it first: that read is the ownership check. */
  private mustHaveSeen(id: string): string {
    const owner = this.owners.get(id);
    if (owner === undefined) throw new Error(`job ${id} was not read through this tenant's view before a write to it`);
    return owner;
  }
}
