import {
  Counter,
  Gauge,
  Histogram,
  type IncreaseDataWithExemplar,
  type LabelValues,
  type MetricObjectWithValues,
  type MetricValue,
  type MetricValueWithName,
  type ObserveDataWithExemplar,
  type Registry,
} from 'prom-client';

/**
 * prom-client's metrics, with a fast per-event path. prom-client validates the label names and
 * builds a sorted hash of the label set on every update (a closure, a key sort, string building):
 * in the live pipeline that measured about 50 µs per job in the worker host alone, 3 % of the
 * pipeline's CPU. These subclasses keep prom-client's registry, exposition format and types, but
 * find a label set's slot with one string key (values in declared label order) in a Map and add
 * to plain numbers; the exposition is built from those slots when scraped. Label names are checked
 * by the type system (`labelNames` as const), not again at run time. Exemplars are not supported
 * (the `{labels, value, exemplarLabels}` call forms are accepted by the types only).
 */

type Labels<T extends string> = Partial<Record<T, string | number>>;

interface Meta {
  name: string;
  help: string;
  type: string;
}

/** The object prom-client's registry formats (its type asks for `collect`, which the registry never reads there). */
function exposition<V>(meta: Meta, values: V[]): MetricObjectWithValues<V & MetricValue<string>> {
  return { ...meta, values, aggregator: 'sum' } as unknown as MetricObjectWithValues<V & MetricValue<string>>;
}

interface Slot {
  labels: Record<string, string | number>;
}

class SlotTable<S extends Slot> {
  private readonly slots = new Map<string, S>();
  constructor(
    private readonly labelNames: readonly string[],
    private readonly make: (labels: Record<string, string | number>) => S,
  ) {
    // A metric without labels shows 0 before anything happens, as prom-client's do.
    if (labelNames.length === 0) this.slots.set('', make({}));
  }

  /** The slot of a label set; `latest` makes the exposition use this call's label order (a gauge's set(), as prom-client). */
  get(labels: Partial<Record<string, string | number>> | undefined, latest = false): S {
    let key = '';
    for (const name of this.labelNames) key += `${labels?.[name] ?? ''}\u0001`;
    let slot = this.slots.get(key);
    if (slot === undefined) {
      // The caller's key order, as prom-client keeps it (it shows in the exposition).
      const copy: Record<string, string | number> = {};
      for (const [name, value] of Object.entries(labels ?? {})) if (value !== undefined) copy[name] = value;
      slot = this.make(copy);
      this.slots.set(key, slot);
    } else if (latest && labels !== undefined) {
      slot.labels = labels as Record<string, string | number>;
    }
    return slot;
  }

  values(): IterableIterator<S> {
    return this.slots.values();
  }

  clear(): void {
    this.slots.clear();
    if (this.labelNames.length === 0) this.slots.set('', this.make({}));
  }
}

interface Config<T extends string> {
  name: string;
  help: string;
  labelNames?: readonly T[];
  registers?: Registry[];
}

interface ValueSlot extends Slot {
  value: number;
}

export class FastCounter<T extends string = string> extends Counter<T> {
  private readonly table: SlotTable<ValueSlot>;
  private readonly meta: Meta;

  constructor(config: Config<T>) {
    super(config);
    this.meta = { name: config.name, help: config.help, type: 'counter' };
    // prom-client's constructor puts its own `inc` on the instance, shadowing the override.
    this.inc = FastCounter.prototype.inc.bind(this);
    this.table = new SlotTable(config.labelNames ?? [], (labels) => ({ labels, value: 0 }));
  }

  override inc(labels?: Labels<T> | number | IncreaseDataWithExemplar<T>, value?: number): void {
    const [slot, delta] = typeof labels === 'number' || labels === undefined ? [this.table.get(undefined), labels ?? 1] : [this.table.get(labels as Labels<T>), value ?? 1];
    if (!(delta >= 0) || !Number.isFinite(delta)) throw new Error(`It is not possible to decrease a counter (${this.meta.name}: ${delta})`);
    slot.value += delta;
  }

  override reset(): void {
    // prom-client's constructor calls reset() before this class's fields exist.
    (this.table as SlotTable<Slot & { labels: object }> | undefined)?.clear();
  }

  override async get(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return Promise.resolve(exposition(this.meta, valuesOf<T>(this.table)));
  }
}

export class FastGauge<T extends string = string> extends Gauge<T> {
  private readonly table: SlotTable<ValueSlot>;
  private readonly meta: Meta;

  constructor(config: Config<T>) {
    super(config);
    this.meta = { name: config.name, help: config.help, type: 'gauge' };
    this.table = new SlotTable(config.labelNames ?? [], (labels) => ({ labels, value: 0 }));
  }

  override inc(labels?: Labels<T> | number, value?: number): void {
    if (typeof labels === 'number' || labels === undefined) this.table.get(undefined).value += labels ?? 1;
    else this.table.get(labels).value += value ?? 1;
  }

  override dec(labels?: Labels<T> | number, value?: number): void {
    if (typeof labels === 'number' || labels === undefined) this.table.get(undefined).value -= labels ?? 1;
    else this.table.get(labels).value -= value ?? 1;
  }

  override set(labels: Labels<T> | number, value?: number): void {
    if (typeof labels === 'number') this.table.get(undefined).value = labels;
    else this.table.get(labels, true).value = value ?? 0;
  }

  override reset(): void {
    // prom-client's constructor calls reset() before this class's fields exist.
    (this.table as SlotTable<Slot & { labels: object }> | undefined)?.clear();
  }

  override async get(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    return Promise.resolve(exposition(this.meta, valuesOf<T>(this.table)));
  }
}

interface HistogramSlot extends Slot {
  /** Per-bucket (not cumulative) counts; the last one is +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

export class FastHistogram<T extends string = string> extends Histogram<T> {
  private readonly table: SlotTable<HistogramSlot>;
  private readonly bounds: readonly number[];
  private readonly meta: Meta;

  constructor(config: Config<T> & { buckets: readonly number[] }) {
    super({ ...config, buckets: [...config.buckets] });
    this.meta = { name: config.name, help: config.help, type: 'histogram' };
    // prom-client's constructor puts its own `observe` on the instance, shadowing the override.
    this.observe = FastHistogram.prototype.observe.bind(this);
    this.bounds = [...config.buckets].sort((a, b) => a - b);
    const size = this.bounds.length + 1;
    this.table = new SlotTable(config.labelNames ?? [], (labels) => ({ labels, counts: new Float64Array(size), sum: 0, count: 0 }));
  }

  override observe(labels: Labels<T> | number | ObserveDataWithExemplar<T>, value?: number): void {
    const [slot, v] = typeof labels === 'number' ? [this.table.get(undefined), labels] : [this.table.get(labels as Labels<T>), value ?? Number.NaN];
    if (!Number.isFinite(v)) throw new TypeError(`Value is not a valid number: ${v}`);
    let i = 0;
    while (i < this.bounds.length && v > (this.bounds[i] as number)) i++;
    slot.counts[i] = (slot.counts[i] ?? 0) + 1;
    slot.sum += v;
    slot.count += 1;
  }

  override reset(): void {
    // prom-client's constructor calls reset() before this class's fields exist.
    (this.table as SlotTable<Slot & { labels: object }> | undefined)?.clear();
  }

  /** What prom-client's registry formats (it prefers this to `get`). */
  async getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<T>>> {
    const name = this.meta.name;
    const values: MetricValueWithName<T>[] = [];
    for (const slot of this.table.values()) {
      let cumulative = 0;
      // As prom-client lays it out: `le` as the value's own label, the label set as shared labels.
      const shared = slot.labels;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += slot.counts[i] ?? 0;
        values.push(bucketValue<T>({ le: this.bounds[i] ?? 0 }, cumulative, `${name}_bucket`, shared));
      }
      values.push(bucketValue<T>({ le: '+Inf' }, slot.count, `${name}_bucket`, shared));
      values.push(bucketValue<T>({}, slot.sum, `${name}_sum`, shared));
      values.push(bucketValue<T>({}, slot.count, `${name}_count`, shared));
    }
    return Promise.resolve(exposition(this.meta, values));
  }

  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<T>>> {
    const data = await this.getForPromString();
    // As prom-client's get(): the shared labels folded into each value's labels.
    for (const value of data.values as (MetricValueWithName<T> & { sharedLabels?: Record<string, string | number> })[]) {
      value.labels = { ...value.labels, ...value.sharedLabels };
      delete value.sharedLabels;
    }
    return data;
  }
}

function bucketValue<T extends string>(labels: Record<string, string | number>, value: number, metricName: string, sharedLabels: Record<string, string | number>): MetricValueWithName<T> {
  // prom-client sets `exemplar: null` on buckets (none recorded), leaves it undefined on sum and count.
  return { labels, sharedLabels, value, metricName, exemplar: metricName.endsWith('_bucket') ? null : undefined } as unknown as MetricValueWithName<T>;
}

function valuesOf<T extends string>(table: SlotTable<ValueSlot>): MetricValue<T>[] {
  const values: MetricValue<T>[] = [];
  for (const slot of table.values()) values.push({ labels: { ...slot.labels } as LabelValues<T>, value: slot.value });
  return values;
}
