/**
 * Cancel requests for jobs this dispatcher does not hold (yet: BullMQ fetched the job, the hold has
 * not begun), each remembered for `memoryMs` (the API's CANCEL_WAIT_MS: it gives up after that).
 */
export class CancelRequests {
  private readonly until = new Map<string, number>();

  constructor(private readonly memoryMs: number) {}

  remember(jobId: string, now: number): void {
    for (const [id, until] of this.until) if (until < now) this.until.delete(id);
    this.until.set(jobId, now + this.memoryMs);
  }

  /** Whether a request for `jobId` is pending; it is used up either way. */
  take(jobId: string, now: number): boolean {
    const until = this.until.get(jobId);
    if (until === undefined) return false;
    this.until.delete(jobId);
    return until >= now;
  }
}
