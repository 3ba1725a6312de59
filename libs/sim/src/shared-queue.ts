/**
 * One FCFS queue per model that every worker pulls from (plain BullMQ with
 * all workers on one queue): a worker with a free slot takes the oldest job
 * among the models it serves.
 */
export class SharedQueue {
  private readonly jobs: number[][];
  private readonly times: number[][];
  private readonly heads: number[];

  constructor(modelCount: number) {
    this.jobs = Array.from({ length: modelCount }, () => []);
    this.times = Array.from({ length: modelCount }, () => []);
    this.heads = new Array<number>(modelCount).fill(0);
  }

  add(job: number, model: number, now: number): void {
    (this.jobs[model] as number[]).push(job);
    (this.times[model] as number[]).push(now);
  }

  /** The model (of `models`) whose oldest job is oldest overall, or -1 when all are empty. */
  oldestModel(models: readonly number[]): number {
    let best = -1;
    let bestTime = Infinity;
    for (const model of models) {
      const head = this.heads[model] as number;
      const times = this.times[model] as number[];
      if (head < times.length && (times[head] as number) < bestTime) {
        best = model;
        bestTime = times[head] as number;
      }
    }
    return best;
  }

  /** Takes up to `count` of `model`'s oldest jobs into `out`. */
  take(model: number, count: number, out: number[]): void {
    const jobs = this.jobs[model] as number[];
    let head = this.heads[model] as number;
    const end = Math.min(jobs.length, head + count);
    while (head < end) out.push(jobs[head++] as number);
    if (head === jobs.length) {
      jobs.length = 0;
      (this.times[model] as number[]).length = 0;
      head = 0;
    } else if (head >= 4096 && head * 2 >= jobs.length) {
      this.jobs[model] = jobs.slice(head);
      this.times[model] = (this.times[model] as number[]).slice(head);
      head = 0;
    }
    this.heads[model] = head;
  }
}
