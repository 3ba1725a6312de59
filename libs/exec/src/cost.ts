const MS_PER_HOUR = 3_600_000;

/** Busy time billed per second, as on cloud billing or an autoscaled fleet: idle time costs nothing. */
export function busyCost(busyMs: number, costPerHour: number): number {
  return (busyMs * costPerHour) / MS_PER_HOUR;
}

/** Accumulates the busy-time bill of a run and reports it per 1,000 jobs. */
export class CostMeter {
  private total = 0;
  private jobCount = 0;

  /** One execution: `jobs` jobs (a batch) that kept a slot busy for `busyMs`. */
  record(busyMs: number, costPerHour: number, jobs = 1): void {
    this.total += busyCost(busyMs, costPerHour);
    this.jobCount += jobs;
  }

  get totalCost(): number {
    return this.total;
  }

  get jobs(): number {
    return this.jobCount;
  }

  /** 0 before any job. */
  perThousandJobs(): number {
    return this.jobCount === 0 ? 0 : (this.total / this.jobCount) * 1000;
  }
}
