import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { build, expectSame } from './sides.js';

/** One metric update: which metric, a label set (sometimes with keys in another order), a value. */
const op = fc.record({
  metric: fc.constantFrom('counter', 'gauge-inc', 'gauge-dec', 'gauge-set', 'histogram', 'reset-gauge', 'reset-counter', 'reset-histogram', 'scrape'),
  model: fc.constantFrom('a', 'b', 'bert-base'),
  cls: fc.constantFrom('gpu', 'cpu'),
  outcome: fc.constantFrom('completed', 'failed'),
  reversed: fc.boolean(),
  value: fc.oneof(fc.constantFrom(0, 0.001, 0.01, 1, 10, 11), fc.double({ min: 0, max: 100, noNaN: true })),
});

describe('fast metrics', () => {
  it('expose exactly what prom-client exposes for any sequence of updates, scrapes and resets', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const sides = [build('prom'), build('fast')];
        for (const o of ops) {
          if (o.metric === 'scrape') {
            // Scraping flushes the fast side into its stock metrics; what follows adds to that.
            await expectSame(sides);
            continue;
          }
          for (const side of sides) {
            const labels = o.reversed ? { outcome: o.outcome, class: o.cls, model: o.model } : { model: o.model, class: o.cls, outcome: o.outcome };
            if (o.metric === 'counter') side.counter.inc(labels, o.value);
            else if (o.metric === 'gauge-inc') side.gauge.inc(labels, o.value);
            else if (o.metric === 'gauge-dec') side.gauge.dec(labels, o.value);
            else if (o.metric === 'gauge-set') side.gauge.set(labels, o.value);
            else if (o.metric === 'reset-gauge') side.gauge.reset();
            else if (o.metric === 'reset-counter') side.counter.reset();
            else if (o.metric === 'reset-histogram') side.histogram.reset();
            else {
              side.histogram.observe(labels, o.value);
              side.bare.observe(o.value);
              side.bareCounter.inc();
            }
          }
        }
        await expectSame(sides);
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
