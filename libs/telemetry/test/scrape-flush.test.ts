import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastCounter } from '../src/fast-counter.js';
import { FastGauge } from '../src/fast-gauge.js';
import { FastHistogram } from '../src/fast-histogram.js';
import { createDispatcherMetrics, createWorkerMetrics } from '../src/index.js';
import { build, expectSame } from './sides.js';

/** The exposition's sample lines (no HELP or TYPE). */
async function samples(registry: Registry): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

describe('fast metrics, flushed into stock prom-client metrics on scrape', () => {
  it('are stock prom-client metrics in the registry', () => {
    const registry = new Registry();
    new FastCounter({ name: 'c_total', help: 'c', registers: [registry] });
    new FastGauge({ name: 'g', help: 'g', registers: [registry] });
    new FastHistogram({ name: 'h', help: 'h', buckets: [1], registers: [registry] });
    expect(registry.getSingleMetric('c_total')?.constructor).toBe(Counter);
    expect(registry.getSingleMetric('g')?.constructor).toBe(Gauge);
    expect(registry.getSingleMetric('h')?.constructor).toBe(Histogram);
  });

  it('show 0 for a metric without labels before anything happens', async () => {
    const registry = new Registry();
    new FastCounter({ name: 'c_total', help: 'c', registers: [registry] });
    new FastGauge({ name: 'g', help: 'g', registers: [registry] });
    new FastHistogram({ name: 'h', help: 'h', buckets: [1], registers: [registry] });
    new FastCounter({ name: 'labelled_total', help: 'nothing until a label set is used', labelNames: ['a'], registers: [registry] });
    expect(await samples(registry)).toEqual(['c_total 0', 'g 0', 'h_bucket{le="1"} 0', 'h_bucket{le="+Inf"} 0', 'h_sum 0', 'h_count 0']);
  });

  it('keep their values across scrapes, and a reset between scrapes starts again from nothing', async () => {
    const [prom, fast] = [build('prom'), build('fast')];
    const sides = [prom, fast];
    const labels = { model: 'a', class: 'gpu', outcome: 'completed' };
    for (const side of sides) {
      side.counter.inc(labels, 2);
      side.gauge.inc(labels, 3);
      side.histogram.observe(labels, 0.05);
      side.bare.observe(0.5);
      side.bareCounter.inc();
    }
    await expectSame(sides);
    await expectSame(sides);
    for (const side of sides) {
      side.counter.inc(labels);
      side.histogram.observe(labels, 5);
    }
    await expectSame(sides);
    for (const side of sides) {
      side.counter.reset();
      side.gauge.reset();
      side.histogram.reset();
    }
    await expectSame(sides);
    expect((await samples(fast.registry)).filter((line) => /^(c_total|g|h_seconds_\w+)\{/.test(line))).toEqual([]);
    for (const side of sides) {
      side.counter.inc({ outcome: 'failed', model: 'b' });
      side.histogram.observe(labels, 0.5);
    }
    await expectSame(sides);
  });

  it('show a gauge set after inc with the set value, in the label order of the set', async () => {
    const registry = new Registry();
    const gauge = new FastGauge({ name: 'g', help: 'g', labelNames: ['a', 'b'], registers: [registry] });
    gauge.inc({ a: 'x', b: 'y' }, 5);
    expect(await samples(registry)).toEqual(['g{a="x",b="y"} 5']);
    gauge.set({ b: 'y', a: 'x' }, 2);
    gauge.inc({ a: 'x', b: 'y' });
    expect(await samples(registry)).toEqual(['g{b="y",a="x"} 3']);
  });

  it('show a label set in the key order of its first update, label sets in the order first seen', async () => {
    const registry = new Registry();
    const counter = new FastCounter({ name: 'c_total', help: 'c', labelNames: ['a', 'b'], registers: [registry] });
    const histogram = new FastHistogram({ name: 'h', help: 'h', labelNames: ['a', 'b'], buckets: [1], registers: [registry] });
    for (const side of [{ b: '2', a: '1' }, { a: '0', b: '9' }, { a: '1', b: '2' }]) {
      counter.inc(side);
      histogram.observe(side, 0.5);
    }
    expect(await samples(registry)).toEqual([
      'c_total{b="2",a="1"} 2',
      'c_total{a="0",b="9"} 1',
      'h_bucket{le="1",b="2",a="1"} 2',
      'h_bucket{le="+Inf",b="2",a="1"} 2',
      'h_sum{b="2",a="1"} 1',
      'h_count{b="2",a="1"} 2',
      'h_bucket{le="1",a="0",b="9"} 1',
      'h_bucket{le="+Inf",a="0",b="9"} 1',
      'h_sum{a="0",b="9"} 0.5',
      'h_count{a="0",b="9"} 1',
    ]);
  });

  it('flush a histogram when nothing scrapes it, keeping what prom-client shows (order, sums) exactly', async () => {
    const sides = [build('prom'), build('fast')];
    // Past the pending limit (4,096) several times, a new label set arriving after each flush.
    for (let i = 0; i < 20_000; i++) {
      const labels = { model: `m${Math.floor(Math.sqrt(i))}`, class: i % 3 === 0 ? 'gpu' : 'cpu' };
      for (const side of sides) side.histogram.observe(labels, (i % 97) / 7);
    }
    await expectSame(sides);
  });

  it('refuse a label that was not declared, at the call', () => {
    const fast = build('fast');
    const undeclared: Record<string, string> = { model: 'a', colour: 'red' };
    expect(() => fast.counter.inc(undeclared)).toThrow(/not included in initial labelset/);
    expect(() => fast.gauge.set(undeclared, 1)).toThrow(/not included in initial labelset/);
    expect(() => fast.histogram.observe(undeclared, 1)).toThrow(/not included in initial labelset/);
  });

  it('with metrics disabled (METRICS_ENABLED=false), make no-ops that register nothing', async () => {
    const registry = new Registry();
    const dispatcher = createDispatcherMetrics(registry, false);
    const worker = createWorkerMetrics(registry, false);
    dispatcher.decisions.inc({ policy: 'sed', class: 'gpu', worker: 'gpu-0' });
    dispatcher.fleetWorkers.reset();
    dispatcher.fleetWorkers.set({ class: 'gpu', state: 'live' }, 1);
    dispatcher.decisionDuration.observe(0.00001);
    worker.busySlots.dec({ worker: 'gpu-0', class: 'gpu' });
    expect(await registry.metrics()).toBe('\n');
  });

  it('with metrics enabled, register every metric, the unlabelled ones at 0', async () => {
    const registry = new Registry();
    const dispatcher = createDispatcherMetrics(registry);
    dispatcher.decisions.inc({ policy: 'sed', class: 'gpu', worker: 'gpu-0' });
    const lines = await samples(registry);
    expect(lines).toContain('sched_dispatch_decisions_total{policy="sed",class="gpu",worker="gpu-0"} 1');
    expect(lines).toContain('sched_dispatch_decision_duration_seconds_count 0');
    expect(lines).toContain('sched_webhook_delivery_latency_seconds_count 0');
  });
});
