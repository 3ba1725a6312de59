import { seededRng, type JobSize, type Rng } from '@sched/core';
import { Batcher, CostMeter, LatencyModel, type Batch } from '@sched/exec';
import { createPolicy, DEFAULT_LOOKAHEAD, FleetIndex, isLateBinding, LateBinder, removeIndices, type Policy, type RoutableJob } from '@sched/policies';
import { arrivalStream, jobCount, type ArrivalStream, type NextArrival } from './arrivals.js';
import { EventHeap } from './event-heap.js';
import { IndexedSet } from './indexed-set.js';
import { summariseLatencies } from './latency-summary.js';
import { SharedQueue } from './shared-queue.js';
import type { SimResult, SimScenario } from './sim-types.js';

// Event payload = id × 8 + kind, so the heap holds two numbers per event.
const ARRIVAL = 0;
const COMPLETE = 1;
const WAKE = 2;
const REFRESH = 3;
const VIEW_COMPLETE = 4;
const PROGRESS_EVERY = 65_536;

function largestSize(items: readonly number[], sizes: readonly (JobSize | undefined)[]): JobSize | undefined {
  let inputTokens = -1;
  let outputTokens = -1;
  for (const job of items) {
    const size = sizes[job];
    if (size === undefined) continue;
    if (size.inputTokens > inputTokens) inputTokens = size.inputTokens;
    if (size.outputTokens > outputTokens) outputTokens = size.outputTokens;
  }
  return inputTokens < 0 ? undefined : { inputTokens, outputTokens };
}

/**
 * One run: arrivals → dispatcher (a policy over a FleetIndex view, or the
 * shared queue) → per-worker Batcher and slots → completions, on a virtual
 * clock. Policies, latency and batching are the libs the live system uses.
 */
class Simulation {
  private readonly heap = new EventHeap(4096);
  private readonly latency: LatencyModel;
  private readonly view: FleetIndex;
  private readonly policy: Policy | null;
  private readonly serviceRng: Rng;
  private readonly policyRng: Rng;
  private readonly stream: ArrivalStream;
  private readonly next: NextArrival = { t: 0, model: '', size: undefined };
  private readonly routedJob: { model: string; priority: 'normal'; size: JobSize | undefined } = {
    model: '',
    priority: 'normal',
    size: undefined,
  };
  private readonly total: number;
  private readonly modelIndex = new Map<string, number>();
  private readonly modelNames: string[];

  // Per job.
  private readonly arrivedAt: Float64Array;
  private readonly startedAt: Float64Array;
  private readonly finishedAt: Float64Array;
  private readonly jobModel: Int32Array;
  private readonly jobWorker: Int32Array;
  private readonly jobWorkMs: Float64Array;
  private readonly jobSize: (JobSize | undefined)[] = [];

  // Per worker: the truth, which the view only sees at refreshes and through its own counting.
  private readonly workerClass: string[];
  private readonly workerModels: number[][];
  private readonly freeSlots: Int32Array;
  private readonly depth: Int32Array;
  private readonly queuedWorkMs: Float64Array;
  private readonly busyMs: Float64Array;
  private readonly jobsRun: Float64Array;
  private readonly wakeAt: Float64Array;
  private readonly batchers: Batcher<number>[];
  private readonly price: Float64Array;

  // Shared-queue baseline.
  private readonly shared: SharedQueue | null;
  private readonly idleByModel: IndexedSet[];
  private readonly maxBatch: Int32Array;

  // Running executions.
  private readonly running: (readonly number[] | undefined)[] = [];
  private readonly runningWorker: number[] = [];
  private readonly freeRunning: number[] = [];

  // Late binding (`sed-late`): held jobs in order, the first `lookahead` of them in `window`.
  private readonly binder: LateBinder | null;
  private window: number[] = [];
  private backlog: number[] = [];
  private backlogHead = 0;
  private readonly boundInRound: number[] = [];
  private readonly lookahead: number;

  private readonly cost = new CostMeter();
  private executions = 0;
  private arrived = 0;
  private unroutable = 0;
  private lastFinish = 0;

  constructor(private readonly scenario: SimScenario) {
    const { fleet, seed } = scenario;
    this.latency = new LatencyModel(fleet.models);
    this.modelNames = Object.keys(fleet.models);
    this.modelNames.forEach((model, i) => this.modelIndex.set(model, i));
    // The view knows each worker's batch size (late binding lets a batch's worth wait per slot).
    const viewSpecs = fleet.workers.map((worker) => ({ ...worker, maxBatch: scenario.batchingByClass?.[worker.class]?.maxBatch ?? worker.maxBatch }));
    this.view = new FleetIndex(viewSpecs, {
      expectedServiceMs: (model, cls, size) => this.latency.expectedMs(model, cls, size),
    });
    this.policy = scenario.policy === 'shared-queue' ? null : createPolicy(scenario.policy, scenario.policyOptions);
    this.binder = isLateBinding(scenario.policy) ? new LateBinder(scenario.policyOptions) : null;
    this.lookahead = scenario.policyOptions?.lookahead ?? DEFAULT_LOOKAHEAD;
    // Separate streams per concern: every policy sees the same arrivals for a seed.
    this.stream = arrivalStream(scenario.arrivals, seededRng(seed));
    this.serviceRng = seededRng(seed ^ 0x5bd1e995);
    this.policyRng = seededRng(seed ^ 0x27d4eb2f);
    this.total = jobCount(scenario.arrivals);

    const n = this.total;
    this.arrivedAt = new Float64Array(n);
    this.startedAt = new Float64Array(n);
    this.finishedAt = new Float64Array(n).fill(-1);
    this.jobModel = new Int32Array(n);
    this.jobWorker = new Int32Array(n).fill(-1);
    this.jobWorkMs = new Float64Array(n);

    const w = fleet.workers.length;
    this.workerClass = fleet.workers.map((worker) => worker.class);
    this.workerModels = fleet.workers.map((worker) => worker.models.map((m) => this.modelIndex.get(m) as number));
    this.freeSlots = Int32Array.from(fleet.workers, (worker) => worker.slots);
    this.depth = new Int32Array(w);
    this.queuedWorkMs = new Float64Array(w);
    this.busyMs = new Float64Array(w);
    this.jobsRun = new Float64Array(w);
    this.wakeAt = new Float64Array(w).fill(Infinity);
    this.price = Float64Array.from(fleet.workers, (worker) => worker.costPerHour ?? 0);
    const batching = fleet.workers.map((worker) => {
      const byClass = scenario.batchingByClass?.[worker.class];
      return byClass ?? { maxBatch: worker.maxBatch ?? 1, maxQueueDelayMs: worker.maxQueueDelayMs ?? 0 };
    });
    this.batchers = batching.map((options) => new Batcher<number>(options));
    this.maxBatch = Int32Array.from(batching, (options) => options.maxBatch ?? 1);

    this.shared = this.policy === null ? new SharedQueue(this.modelNames.length) : null;
    this.idleByModel = this.modelNames.map(() => new IndexedSet(w));
    if (this.shared !== null) {
      this.workerModels.forEach((models, worker) => models.forEach((m) => this.idleByModel[m]?.add(worker)));
    }
  }

  run(): SimResult {
    if (this.stream(this.next)) this.heap.push(this.next.t, ARRIVAL);
    const refreshMs = this.scenario.refreshMs ?? 1000;
    if (this.policy !== null) this.heap.push(refreshMs, REFRESH);
    const heap = this.heap;
    while (heap.size > 0) {
      const now = heap.peekTime();
      const payload = heap.peekPayload();
      heap.pop();
      const kind = payload & 7;
      const id = payload >>> 3;
      if (kind === ARRIVAL) this.arrive(now);
      else if (kind === COMPLETE) this.complete(id, now);
      else if (kind === WAKE) {
        if (this.wakeAt[id] === now) {
          this.wakeAt[id] = Infinity;
          this.startBatches(id, now);
        }
      } else if (kind === REFRESH) {
        if (this.arrived < this.total || this.executionsRunning() > 0 || this.heldCount() > 0) {
          this.refreshView();
          this.bindHeld(now);
          heap.push(now + refreshMs, REFRESH);
        }
      } else {
        this.view.completed(this.jobWorker[id] as number, this.jobWorkMs[id]);
        this.bindHeld(now, this.jobWorker[id]);
      }
    }
    this.scenario.onProgress?.(this.arrived, this.total);
    return this.result();
  }

  private executionsRunning(): number {
    return this.running.length - this.freeRunning.length;
  }

  private arrive(now: number): void {
    const job = this.arrived++;
    const { model, size } = this.next;
    this.arrivedAt[job] = now;
    this.jobSize[job] = size;
    const m = this.modelIndex.get(model) ?? -1;
    this.jobModel[job] = m;
    if (m < 0) this.unroutable++;
    else if (this.policy === null) this.enqueueShared(job, m, now);
    else if (this.binder !== null) this.hold(job, now);
    else this.dispatch(job, model, size, now);
    if (this.arrived % PROGRESS_EVERY === 0) this.scenario.onProgress?.(this.arrived, this.total);
    if (this.stream(this.next)) this.heap.push(this.next.t, ARRIVAL);
  }

  private dispatch(job: number, model: string, size: JobSize | undefined, now: number): void {
    const routed = this.routedJob;
    routed.model = model;
    routed.size = size;
    const id = (this.policy as Policy)(routed, this.view, this.policyRng);
    const worker = id === null ? -1 : this.view.indexOf(id);
    if (worker < 0) {
      this.unroutable++;
      return;
    }
    this.bind(job, worker, now);
  }

  private bind(job: number, worker: number, now: number): void {
    const model = this.modelNames[this.jobModel[job] as number] as string;
    const size = this.jobSize[job];
    const workMs = this.latency.expectedMs(model, this.workerClass[worker] as string, size);
    this.jobWorker[job] = worker;
    this.jobWorkMs[job] = workMs;
    this.view.dispatched(worker, workMs);
    this.depth[worker] = (this.depth[worker] as number) + 1;
    this.queuedWorkMs[worker] = (this.queuedWorkMs[worker] as number) + workMs;
    (this.batchers[worker] as Batcher<number>).add(job, model, now);
    if ((this.freeSlots[worker] as number) > 0) this.startBatches(worker, now);
  }

  private heldCount(): number {
    return this.window.length + this.backlog.length - this.backlogHead;
  }

  private hold(job: number, now: number): void {
    if (this.view.eligible(this.modelNames[this.jobModel[job] as number] as string).length === 0) {
      this.unroutable++;
      return;
    }
    if (this.backlogHead === this.backlog.length && this.window.length < this.lookahead) this.window.push(job);
    else this.backlog.push(job);
    this.bindHeld(now);
  }

  /**
   * One LateBinder round over the held jobs; bound ones leave the window, which refills in order.
   * `freed`: the worker whose completion triggered the round, if any.
   */
  private bindHeld(now: number, freed = -1): void {
    const binder = this.binder;
    if (binder === null || this.window.length === 0) return;
    const window = this.window;
    const bound = this.boundInRound;
    const routed = this.routedJob;
    const jobAt = (i: number): RoutableJob => {
      const job = window[i] as number;
      routed.model = this.modelNames[this.jobModel[job] as number] as string;
      routed.size = this.jobSize[job];
      return routed;
    };
    // Jobs refilled from the backlog get a round of their own at once (the live dispatcher's next
    // arrival would give them one too).
    let refilled = 0;
    do {
      bound.length = 0;
      binder.round(
        window.length,
        jobAt,
        this.view,
        this.policyRng,
        (i, id) => {
          bound.push(i);
          this.bind(window[i] as number, this.view.indexOf(id), now);
        },
        freed < 0 ? undefined : this.view.worker(freed),
      );
      refilled = 0;
      if (bound.length > 0) {
        removeIndices(window, bound);
        while (window.length < this.lookahead && this.backlogHead < this.backlog.length) {
          window.push(this.backlog[this.backlogHead++] as number);
          refilled++;
        }
        if (this.backlogHead > 4096 && this.backlogHead * 2 > this.backlog.length) {
          this.backlog = this.backlog.slice(this.backlogHead);
          this.backlogHead = 0;
        }
      }
    } while (refilled > 0);
  }

  /** Fires every batch that is due while slots are free; otherwise arms the batch timer. */
  private startBatches(worker: number, now: number): void {
    const batcher = this.batchers[worker] as Batcher<number>;
    while ((this.freeSlots[worker] as number) > 0) {
      const batch = batcher.poll(now);
      if (batch === null) {
        const wake = batcher.nextWakeAt();
        if (wake !== null && wake < (this.wakeAt[worker] as number)) {
          this.wakeAt[worker] = wake;
          this.heap.push(wake, worker * 8 + WAKE);
        }
        return;
      }
      this.execute(worker, batch, now);
    }
  }

  private execute(worker: number, batch: Batch<number>, now: number): void {
    const items = batch.items;
    const cls = this.workerClass[worker] as string;
    const size = items.length === 1 ? this.jobSize[items[0] as number] : largestSize(items, this.jobSize);
    const serviceMs = this.latency.sampleBatchMs(batch.model, cls, items.length, this.serviceRng, size);
    for (const job of items) this.startedAt[job] = now;
    this.freeSlots[worker] = (this.freeSlots[worker] as number) - 1;
    this.busyMs[worker] = (this.busyMs[worker] as number) + serviceMs;
    this.jobsRun[worker] = (this.jobsRun[worker] as number) + items.length;
    this.cost.record(serviceMs, this.price[worker] as number, items.length);
    this.executions++;
    const slot = this.freeRunning.pop() ?? this.running.length;
    this.running[slot] = items;
    this.runningWorker[slot] = worker;
    this.heap.push(now + serviceMs, slot * 8 + COMPLETE);
  }

  private complete(slot: number, now: number): void {
    const items = this.running[slot] as readonly number[];
    const worker = this.runningWorker[slot] as number;
    this.running[slot] = undefined;
    this.freeRunning.push(slot);
    this.freeSlots[worker] = (this.freeSlots[worker] as number) + 1;
    this.lastFinish = now;
    const lagMs = this.scenario.completionLagMs ?? 0;
    for (const job of items) {
      this.finishedAt[job] = now;
      if (this.policy === null) continue;
      this.depth[worker] = (this.depth[worker] as number) - 1;
      this.queuedWorkMs[worker] = (this.queuedWorkMs[worker] as number) - (this.jobWorkMs[job] as number);
      if (lagMs > 0) this.heap.push(now + lagMs, job * 8 + VIEW_COMPLETE);
      else this.view.completed(worker, this.jobWorkMs[job]);
    }
    if (this.policy === null) this.pullShared(worker, now);
    else {
      if (lagMs <= 0) this.bindHeld(now, worker);
      this.startBatches(worker, now);
    }
  }

  private refreshView(): void {
    for (let worker = 0; worker < this.depth.length; worker++) {
      this.view.refresh(worker, { depth: this.depth[worker] as number, queuedWorkMs: Math.max(0, this.queuedWorkMs[worker] as number) });
    }
  }

  private enqueueShared(job: number, model: number, now: number): void {
    const shared = this.shared as SharedQueue;
    shared.add(job, model, now);
    const idle = this.idleByModel[model] as IndexedSet;
    // Which idle worker wins the poll race is arbitrary: pick one at random.
    if (idle.size > 0) this.pullShared(idle.pick(this.policyRng), now);
  }

  /** A worker with a free slot takes the oldest job it serves (a batch of that model when it batches). */
  private pullShared(worker: number, now: number): void {
    const shared = this.shared as SharedQueue;
    const models = this.workerModels[worker] as number[];
    while ((this.freeSlots[worker] as number) > 0) {
      const model = shared.oldestModel(models);
      if (model < 0) break;
      const items: number[] = [];
      shared.take(model, this.maxBatch[worker] as number, items);
      for (const job of items) this.jobWorker[job] = worker;
      this.execute(worker, { model: this.modelNames[model] as string, items }, now);
    }
    const idle = (this.freeSlots[worker] as number) > 0;
    for (const m of models) {
      if (idle) this.idleByModel[m]?.add(worker);
      else this.idleByModel[m]?.delete(worker);
    }
  }

  private result(): SimResult {
    const { fleet } = this.scenario;
    let done = 0;
    let waitSum = 0;
    const latencies = new Float64Array(this.total - this.unroutable);
    const overheadMs = this.scenario.pipelineOverheadMs ?? 0;
    for (let job = 0; job < this.total; job++) {
      const finished = this.finishedAt[job] as number;
      if (finished < 0) continue;
      const arrived = this.arrivedAt[job] as number;
      latencies[done++] = finished - arrived + overheadMs;
      waitSum += (this.startedAt[job] as number) - arrived;
    }
    const duration = this.lastFinish;
    const busyByClass: Record<string, number> = {};
    const slotsByClass: Record<string, number> = {};
    const sharePerWorker: Record<string, number> = {};
    fleet.workers.forEach((worker, i) => {
      busyByClass[worker.class] = (busyByClass[worker.class] ?? 0) + (this.busyMs[i] as number);
      slotsByClass[worker.class] = (slotsByClass[worker.class] ?? 0) + worker.slots;
      sharePerWorker[worker.id] = done === 0 ? 0 : (this.jobsRun[i] as number) / done;
    });
    const utilisationByClass: Record<string, number> = {};
    for (const [cls, busy] of Object.entries(busyByClass)) {
      utilisationByClass[cls] = duration === 0 ? 0 : busy / ((slotsByClass[cls] as number) * duration);
    }
    return {
      policy: this.scenario.policy,
      jobs: done,
      unroutable: this.unroutable,
      ...summariseLatencies(latencies.subarray(0, done)),
      meanWaitMs: done === 0 ? 0 : waitSum / done,
      throughput: duration === 0 ? 0 : (done / duration) * 1000,
      durationMs: duration,
      utilisationByClass,
      sharePerWorker,
      costPer1000Jobs: this.cost.perThousandJobs(),
      meanBatchSize: this.executions === 0 ? 0 : done / this.executions,
    };
  }
}

/** Runs one scenario to completion (every arrival served or found unroutable). Deterministic per seed. */
export function simulate(scenario: SimScenario): SimResult {
  return new Simulation(scenario).run();
}
