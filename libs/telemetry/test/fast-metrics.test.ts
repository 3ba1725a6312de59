import fc from 'fast-check';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastCounter, FastGauge, FastHistogram } from '../src/fast-metrics.js';

const BUCKETS = [0.001, 0.01, 0.1, 1, 10];
const labelNames = ['model', 'class', 'outcome'] as const;
type L = (typeof labelNames)[number];

/** One metric update: which metric, a label set (sometimes with keys in another order), a value. */
const op = fc.record({
  metric: fc.constantFrom('counter', 'gauge-inc', 'gauge-dec', 'gauge-set', 'histogram', 'reset-gauge'),
  model: fc.constantFrom('a', 'b', 'bert-base'),
  cls: fc.constantFrom('gpu', 'cpu'),
  outcome: fc.constantFrom('completed', 'failed'),
  reversed: fc.boolean(),
  value: fc.oneof(fc.constantFrom(0, 0.001, 0.01, 1, 10, 11), fc.double({ min: 0, max: 100, noNaN: true })),
});

function build(kind: 'prom' | 'fast') {
  const registry = new Registry();
  registry.setDefaultLabels({ app: 'test' });
  const C = kind === 'prom' ? Counter : FastCounter;
  const G = kind === 'prom' ? Gauge : FastGauge;
  const H = kind === 'prom' ? Histogram : FastHistogram;
  return {
    registry,
    counter: new C<L>({ name: 'c_total', help: 'c', labelNames, registers: [registry] }),
    gauge: new G<L>({ name: 'g', help: 'g', labelNames, registers: [registry] }),
    histogram: new H<L>({ name: 'h_seconds', help: 'h', labelNames, buckets: BUCKETS, registers: [registry] }),
    bare: new H<never>({ name: 'bare_seconds', help: 'no labels', buckets: BUCKETS, registers: [registry] }),
    bareCounter: new C<never>({ name: 'bare_total', help: 'no labels', registers: [registry] }),
  };
}

describe('fast metrics', () => {
  it('expose exactly what prom-client exposes for any sequence of updates', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const sides = [build('prom'), build('fast')];
        for (const side of sides) {
          for (const o of ops) {
            const labels = o.reversed ? { outcome: o.outcome, class: o.cls, model: o.model } : { model: o.model, class: o.cls, outcome: o.outcome };
            if (o.metric === 'counter') side.counter.inc(labels, o.value);
            else if (o.metric === 'gauge-inc') side.gauge.inc(labels, o.value);
            else if (o.metric === 'gauge-dec') side.gauge.dec(labels, o.value);
            else if (o.metric === 'gauge-set') side.gauge.set(labels, o.value);
            else if (o.metric === 'reset-gauge') side.gauge.reset();
            else {
              side.histogram.observe(labels, o.value);
              side.bare.observe(o.value);
              side.bareCounter.inc();
            }
          }
        }
        const [prom, fast] = await Promise.all(sides.map((s) => s.registry.metrics()));
        expect(fast).toBe(prom);
        const [promJson, fastJson] = await Promise.all(sides.map((s) => s.registry.getMetricsAsJSON()));
        // Through JSON, as a consumer sees it (prom-client's dec by 0 leaves −0 on a new label set, ours 0).
        expect(JSON.parse(JSON.stringify(fastJson))).toEqual(JSON.parse(JSON.stringify(promJson)));
      }),
      { numRuns: 200 },
    );
  });

  it('refuse what prom-client refuses: a counter going down, a value that is not a number', () => {
    const fast = build('fast');
    expect(() => fast.counter.inc({ model: 'a' }, -1)).toThrow(/decrease/);
    expect(() => fast.histogram.observe({ model: 'a' }, Number.NaN)).toThrow(/not a valid number/);
  });
});
