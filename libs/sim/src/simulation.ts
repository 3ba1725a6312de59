import { latestStartAt, PRIORITIES, seededRng, type JobSize, type Priority, type Rng } from '@sched/core';
import { Batcher, CostMeter, LatencyModel, type Batch } from '@sched/exec';
import { createPolicy, DispatchLoop, FairBand, FleetIndex, fleetCostMs, isLateBinding, LateBinder, queueCostMs, withDeadlineGuard, type HeldJob, type Policy, type RoutableJob, type WorkerView } from '@sched/policies';
import { arrivalStream, jobCount, type ArrivalStream, type NextArrival } from './arrivals.js';
import { EventHeap } from './event-heap.js';
import { IndexedSet } from './indexed-set.js';
import { traitStream, type JobTraits } from './job-traits.js';
import { SharedQueue } from './shared-queue.js';
import { summariseRun } from './sim-result.js';
import type { SimResult, SimScenario } from './sim-types.js';
import { tenantStream } from './tenant-mix.js';

// Event payload = id × 8 + kind, so the heap holds two numbers per event.
const ARRIVAL = 0;
const COMPLETE = 1;
const WAKE = 2;
const REFRESH = 3;
const VIEW_COMPLETE = 4;
const PROGRESS_EVERY = 65_536;
const NORMAL = PRIORITIES.indexOf('normal');
const RANK = new Map<Priority, number>(PRIORITIES.map((p, i) => [p, i]));

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

/** The one routed job object of a run, refilled per decision (a million jobs allocate nothing). */
interface RoutedJob {
  model: string;
  priority: Priority;
  size: JobSize | undefined;
  deadlineMs: number | undefined;
  createdAt: number;
  fairStart: number | undefined;
  owner: string | undefined;
}

/**
 * One run: arrivals → dispatcher (a policy over a FleetIndex view, the late-binding
 * `DispatchLoop`, or the shared queue) → per-worker Batcher and slots → completions, on a
 * virtual clock. Policies, the held queue, the deadline guard, latency and batching are the
 * libs the live system uses. A worker's queue serves higher priorities first (BullMQ's
 * priority); a job picked up after its latest start is skipped, as the live worker does.
 */
class Simulation {
  private readonly heap = new EventHeap(4096);
  private readonly latency: LatencyModel;
  private readonly view: FleetIndex;
  private readonly policy: Policy | null;
  private readonly serviceRng: Rng;
  private readonly policyRng: Rng;
  /** Each arrival's priority and deadline. */
  private readonly traitsOf: (out: JobTraits) => JobTraits;
  private readonly traits: JobTraits = { priority: 'normal', deadlineMs: undefined };
  private readonly stream: ArrivalStream;
  private readonly next: NextArrival = { t: 0, model: '', size: undefined };
  private readonly routedJob: RoutedJob = { model: '', priority: 'normal', size: undefined, deadlineMs: undefined, createdAt: 0, fairStart: undefined, owner: undefined };
  private readonly total: number;
  private readonly modelIndex = new Map<string, number>();
  private readonly modelNames: string[];
  private clock = 0;

  // Per job.
  private readonly arrivedAt: Float64Array;
  private readonly startedAt: Float64Array;
  private readonly finishedAt: Float64Array;
  private readonly jobModel: Int32Array;
  private readonly jobWorker: Int32Array;
  private readonly jobWorkMs: Float64Array;
  private readonly jobSize: (JobSize | undefined)[] = [];
  /** Index in PRIORITIES. */
  private readonly jobPriority: Uint8Array;
  /** 0: no deadline. */
  private readonly jobDeadline: Float64Array;
  /** Failed `deadline_exceeded` (never ran). */
  private readonly jobMissed: Uint8Array;
  /** Index in the scenario's tenant names. */
  private readonly jobTenant: Uint8Array;
  /** Fair start tag of a held job (`sed-late` with tenants and fair sharing). */
  private readonly jobFairStart: Float64Array;
  /** Fair start tag in its worker queue (with tenants and fair sharing). */
  private readonly jobQueueStart: Float64Array;

  // Tenants: who sends each arrival, and fair sharing between them (as live when the API has keys).
  private readonly tenantOf: (() => number) | null;
  private readonly soloTenant: number;
  private readonly fair: boolean;
  /** Fair sharing of the held jobs, per priority (`sed-late`). */
  private readonly heldBands: FairBand[];

  // Per worker: the truth, which the view only sees at refreshes and through its own counting.
  private readonly workerClass: string[];
  private readonly workerModels: number[][];
  private readonly freeSlots: Int32Array;
  private readonly depth: Int32Array;
  private readonly queuedWorkMs: Float64Array;
  private readonly busyMs: Float64Array;
  private readonly jobsRun: Float64Array;
  private readonly wakeAt: Float64Array;
  /** Fair sharing of each worker queue's bands (same index as `batchers`). */
  private readonly queueBands: FairBand[];
  /** Per worker, one Batcher per priority band (`bands` of them; 1 when every job is `normal`). */
  private readonly batchers: Batcher<number>[];
  private readonly bands: number;
  private readonly price: Float64Array;

  // Shared-queue baseline.
  private readonly shared: SharedQueue | null;
  private readonly idleByModel: IndexedSet[];
  private readonly maxBatch: Int32Array;

  // Running executions.
  private readonly running: (readonly number[] | undefined)[] = [];
  private readonly runningWorker: number[] = [];
  private readonly freeRunning: number[] = [];

  /** Late binding (`sed-late`): the jobs held, in the live dispatcher's order and rounds. */
  private readonly loop: DispatchLoop<number> | null;

  private readonly cost = new CostMeter();
  private executions = 0;
  private arrived = 0;
  private unroutable = 0;
  private deadlineJobs = 0;
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
      fairWaitMs: (job, worker) => this.fairWaitMs(job, worker),
    });
    const now = (): number => this.clock;
    this.policy =
      scenario.policy === 'shared-queue' ? null : withDeadlineGuard(createPolicy(scenario.policy, scenario.policyOptions), now);
    // Separate streams per concern: every policy sees the same arrivals for a seed.
    this.stream = arrivalStream(scenario.arrivals, seededRng(seed));
    this.serviceRng = seededRng(seed ^ 0x5bd1e995);
    this.policyRng = seededRng(seed ^ 0x27d4eb2f);
    this.traitsOf = traitStream(seed, scenario.priorityMix, scenario.deadlines);
    this.total = jobCount(scenario.arrivals);
    const tenants = scenario.tenants;
    this.tenantOf = tenants === undefined ? null : tenantStream(seed, tenants);
    this.soloTenant = scenario.soloTenant === undefined ? -1 : (tenants?.names.indexOf(scenario.soloTenant) ?? -1);
    if (scenario.soloTenant !== undefined && this.soloTenant < 0) throw new RangeError(`soloTenant: "${scenario.soloTenant}" is not one of the scenario's tenants`);
    if (tenants !== undefined && tenants.names.length > 255) throw new RangeError(`tenants: at most 255, got ${tenants.names.length}`);
    this.fair = tenants !== undefined && scenario.fairShare !== false && scenario.policy !== 'shared-queue';
    this.heldBands = PRIORITIES.map(() => new FairBand());
    this.loop =
      scenario.policy !== 'shared-queue' && isLateBinding(scenario.policy)
        ? new DispatchLoop<number>({
            jobOf: (job) => this.routed(job),
            models: fleet.models,
            capacity: scenario.maxHeld,
            binder: new LateBinder(scenario.policyOptions),
            policy: createPolicy(scenario.policy, scenario.policyOptions),
            snapshot: this.view,
            rng: this.policyRng,
            now,
            outcomes: {
              bind: (job, workerId) => this.bind(job, this.view.indexOf(workerId), this.clock),
              park: () => this.unroutable++,
              expire: (job) => this.miss(job),
            },
          })
        : null;

    const n = this.total;
    this.arrivedAt = new Float64Array(n);
    this.startedAt = new Float64Array(n);
    this.finishedAt = new Float64Array(n).fill(-1);
    this.jobModel = new Int32Array(n);
    this.jobWorker = new Int32Array(n).fill(-1);
    this.jobWorkMs = new Float64Array(n);
    this.jobPriority = new Uint8Array(n).fill(NORMAL);
    this.jobDeadline = new Float64Array(n);
    this.jobMissed = new Uint8Array(n);
    this.jobTenant = new Uint8Array(n);
    this.jobFairStart = new Float64Array(n);
    this.jobQueueStart = new Float64Array(n);

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
    this.bands = scenario.priorityMix === undefined ? 1 : PRIORITIES.length;
    this.batchers = batching.flatMap((options) => Array.from({ length: this.bands }, () => new Batcher<number>(options)));
    this.queueBands = this.batchers.map(() => new FairBand());
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
      this.clock = now;
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
        if (this.arrived < this.total || this.executionsRunning() > 0 || (this.loop?.held.count ?? 0) > 0) {
          this.refreshView();
          this.loop?.round();
          heap.push(now + refreshMs, REFRESH);
        }
      } else {
        const worker = this.jobWorker[id] as number;
        this.view.completed(worker, this.jobWorkMs[id]);
        this.loop?.round(this.view.worker(worker));
      }
    }
    this.scenario.onProgress?.(this.arrived, this.total);
    return summariseRun(this.scenario, {
      arrivedAt: this.arrivedAt,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt,
      priority: this.jobPriority,
      missed: this.jobMissed,
      tenant: this.tenantOf === null ? undefined : this.jobTenant,
      unroutable: this.unroutable,
      deadlineJobs: this.deadlineJobs,
      busyMs: this.busyMs,
      jobsRun: this.jobsRun,
      durationMs: this.lastFinish,
      executions: this.executions,
      costPer1000Jobs: this.cost.perThousandJobs(),
    });
  }

  private executionsRunning(): number {
    return this.running.length - this.freeRunning.length;
  }

  /** `job` as a policy sees it (the one reused object: read it before the next call). */
  private routed(job: number): HeldJob {
    const routed = this.routedJob;
    const deadline = this.jobDeadline[job] as number;
    routed.model = this.modelNames[this.jobModel[job] as number] as string;
    routed.priority = PRIORITIES[this.jobPriority[job] as number] as Priority;
    routed.size = this.jobSize[job];
    routed.deadlineMs = deadline > 0 ? deadline : undefined;
    routed.createdAt = this.arrivedAt[job] as number;
    routed.fairStart = this.fair && this.loop !== null ? this.jobFairStart[job] : undefined;
    routed.owner = this.scenario.tenants?.names[this.jobTenant[job] as number];
    return routed;
  }

  private arrive(now: number): void {
    const job = this.arrived++;
    const { model, size } = this.next;
    this.arrivedAt[job] = now;
    this.jobSize[job] = size;
    if (this.scenario.priorityMix !== undefined || this.scenario.deadlines !== undefined) {
      const { priority, deadlineMs } = this.traitsOf(this.traits);
      this.jobPriority[job] = RANK.get(priority) ?? NORMAL;
      if (deadlineMs !== undefined) {
        this.jobDeadline[job] = deadlineMs;
        this.deadlineJobs++;
      }
    }
    const m = this.modelIndex.get(model) ?? -1;
    this.jobModel[job] = m;
    const tenant = this.tenantOf === null ? 0 : this.tenantOf();
    this.jobTenant[job] = tenant;
    if (this.soloTenant >= 0 && tenant !== this.soloTenant) {
      // Another tenant's job, dropped from a solo run: it never arrives (and counts nowhere).
    } else if (m < 0) this.unroutable++;
    else if (this.policy === null) this.enqueueShared(job, m, now);
    else {
      if (this.loop !== null) {
        if (this.fair) this.holdTag(job);
        if (this.view.eligible(model).length === 0) this.unroutable++;
        else this.loop.hold(job);
      } else this.dispatch(job, now);
    }
    if (this.arrived % PROGRESS_EVERY === 0) this.scenario.onProgress?.(this.arrived, this.total);
    if (this.stream(this.next)) this.heap.push(this.next.t, ARRIVAL);
  }

  /** A held job's fair start tag in its priority's held band (as the live dispatcher's hold script does). */
  private holdTag(job: number): void {
    const routed = this.routed(job);
    const cost = fleetCostMs(routed, this.view);
    if (cost === null) return;
    const t = this.jobTenant[job] as number;
    const tenants = this.scenario.tenants;
    const priority = routed.priority;
    const band = this.heldBands[this.jobPriority[job] as number] as FairBand;
    // `routed` is the one reused object, which reading the head refills: nothing is read from it after.
    const headTag = (this.loop as DispatchLoop<number>).held.headFairStart(priority);
    this.jobFairStart[job] = band.holdTag(tenants?.names[t] as string, headTag, cost, tenants?.weights[t] as number);
  }

  /** A job's wait in `worker`'s queue under fair sharing, for `sed`'s decision and `sed-late`'s binder (live: from the dispatcher's copy of the bands). */
  private fairWaitMs(job: RoutableJob, worker: WorkerView): number | undefined {
    if (!this.fair || job.owner === undefined) return undefined;
    const band = this.bands === 1 ? 0 : (RANK.get(job.priority) ?? NORMAL);
    return (this.queueBands[this.view.indexOf(worker.id) * this.bands + band] as FairBand).waitMs(job.owner);
  }

  /** Routes on arrival (every policy but `sed-late`), as the live dispatcher does. */
  private dispatch(job: number, now: number): void {
    const routed = this.routed(job);
    if ((latestStartAt(this.scenario.fleet.models, routed) ?? Infinity) < now) {
      this.miss(job);
      return;
    }
    const id = (this.policy as Policy)(routed, this.view, this.policyRng);
    const worker = id === null ? -1 : this.view.indexOf(id);
    if (worker < 0) {
      this.unroutable++;
      return;
    }
    this.bind(job, worker, now);
  }

  private miss(job: number): void {
    this.jobMissed[job] = 1;
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
    const band = this.bands === 1 ? 0 : (this.jobPriority[job] as number);
    const batcher = this.batchers[worker * this.bands + band] as Batcher<number>;
    // As live: a job waits in its worker's queue by fair rank (BullMQ priority). Bound late, it mostly
    // finds the worker with room; one bound at once (the held set overflowed) may wait there.
    if (this.fair) batcher.add(job, model, now, this.queueTag(job, worker, band));
    else batcher.add(job, model, now);
    if ((this.freeSlots[worker] as number) > 0) this.startBatches(worker, now);
  }

  /** The job's fair rank in its band of `worker`'s queue (as the live dispatcher's queue script does). */
  private queueTag(job: number, worker: number, band: number): number {
    const at = worker * this.bands + band;
    const t = this.jobTenant[job] as number;
    const tenants = this.scenario.tenants;
    const cost = queueCostMs(this.routed(job), this.view.worker(worker), this.view);
    const batcher = this.batchers[at] as Batcher<number>;
    const tag = (this.queueBands[at] as FairBand).queueTag(tenants?.names[t] as string, batcher.headRank(), cost, tenants?.weights[t] as number, this.clock);
    if (tag.shift > 0) batcher.shiftRanks(tag.shift);
    this.jobQueueStart[job] = tag.start;
    return tag.rank;
  }

  /** Fires every batch that is due while slots are free, higher priorities first; otherwise arms the batch timer. */
  private startBatches(worker: number, now: number): void {
    const first = worker * this.bands;
    while ((this.freeSlots[worker] as number) > 0) {
      let batch: Batch<number> | null = null;
      for (let band = first; batch === null && band < first + this.bands; band++) batch = (this.batchers[band] as Batcher<number>).poll(now);
      if (batch === null) {
        let wake: number | null = null;
        for (let band = first; band < first + this.bands; band++) {
          const at = (this.batchers[band] as Batcher<number>).nextWakeAt();
          if (at !== null && (wake === null || at < wake)) wake = at;
        }
        if (wake !== null && wake < (this.wakeAt[worker] as number)) {
          this.wakeAt[worker] = wake;
          this.heap.push(wake, worker * 8 + WAKE);
        }
        return;
      }
      const items = this.deadlineJobs > 0 ? this.skipLate(worker, batch.items, now) : batch.items;
      if (items.length > 0) this.execute(worker, { model: batch.model, items }, now);
    }
  }

  /**
   * The jobs of a batch that can still meet their deadline on this worker; the others fail at
   * pickup without running (and without taking the slot), and the view hears of it as of a
   * completion.
   */
  private skipLate(worker: number, items: number[], now: number): number[] {
    const cls = this.workerClass[worker] as string;
    const models = this.scenario.fleet.models;
    let kept: number[] | null = null;
    for (let i = 0; i < items.length; i++) {
      const job = items[i] as number;
      const late = (this.jobDeadline[job] as number) > 0 && (latestStartAt(models, this.routed(job), cls) ?? Infinity) < now;
      if (late) {
        kept ??= items.slice(0, i);
        this.miss(job);
        this.depth[worker] = (this.depth[worker] as number) - 1;
        this.queuedWorkMs[worker] = (this.queuedWorkMs[worker] as number) - (this.jobWorkMs[job] as number);
        this.heap.push(now + (this.scenario.completionLagMs ?? 0), job * 8 + VIEW_COMPLETE);
      } else kept?.push(job);
    }
    return kept ?? items;
  }

  private execute(worker: number, batch: Batch<number>, now: number): void {
    const items = batch.items;
    const cls = this.workerClass[worker] as string;
    const size = items.length === 1 ? this.jobSize[items[0] as number] : largestSize(items, this.jobSize);
    const serviceMs = this.latency.sampleBatchMs(batch.model, cls, items.length, this.serviceRng, size);
    for (const job of items) this.startedAt[job] = now;
    // A worker queue's fair `V` is the tag of the latest job it started (live, the worker writes it).
    if (this.fair) {
      for (const job of items) (this.queueBands[worker * this.bands + (this.bands === 1 ? 0 : (this.jobPriority[job] as number))] as FairBand).started(this.jobQueueStart[job] as number);
    }
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
      if (lagMs <= 0) this.loop?.round(this.view.worker(worker));
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
}

/** Runs one scenario to completion (every arrival served, found unroutable, or past its deadline). Deterministic per seed. */
export function simulate(scenario: SimScenario): SimResult {
  return new Simulation(scenario).run();
}
