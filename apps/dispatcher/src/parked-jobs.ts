/**
 * Jobs this dispatcher parked for want of a worker, for the backlog gauge. An entry outlives its
 * re-check by `lifetimeMs`: another dispatcher may have taken the job since, and it then lapses.
 */
export class ParkedJobs {
  private readonly jobs = new Map<string, { readonly model: string; readonly until: number }>();

  constructor(private readonly lifetimeMs: number) {}

  park(jobId: string, model: string, now: number): void {
    this.jobs.set(jobId, { model, until: now + this.lifetimeMs });
  }

  /** The job was dispatched, or failed. */
  forget(jobId: string): void {
    this.jobs.delete(jobId);
  }

  /** The model of every job parked now (one entry per job); lapsed entries are dropped. */
  models(now: number): string[] {
    const models: string[] = [];
    for (const [id, { model, until }] of this.jobs) {
      if (until < now) this.jobs.delete(id);
      else models.push(model);
    }
    return models;
  }
}
