import { createClient } from '@sched/client';
import { seededRng } from '@sched/core';
const c = createClient({ baseUrl: process.argv[2]! });
const rng = seededRng(1);
const rows: { cls: string; q: number; s: number; d: number; tot: number; sub: number }[] = [];
const pending: Promise<void>[] = [];
let t = performance.now();
for (let i = 0; i < 300; i++) {
  t += -Math.log(1 - rng()) * (1000 / 27.5);
  const wait = t - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  pending.push((async () => {
    const t0 = Date.now();
    const a = await c.submit({ model: 'default', input: i });
    const t1 = Date.now();
    const v = await c.wait(a.id);
    const t2 = Date.now();
    rows.push({ cls: v.worker!.class, q: v.timings.queueMs!, s: v.timings.serviceMs!, d: t2 - Date.parse(v.timings.finishedAt!), tot: t2 - t0, sub: Date.parse(v.timings.createdAt) - t0 });
  })());
}
await Promise.all(pending);
for (const cls of ['gpu', 'cpu']) {
  const r = rows.filter((x) => x.cls === cls);
  const med = (k: keyof (typeof rows)[0]) => (r.map((x) => x[k] as number).sort((a, b) => a - b)[Math.floor(r.length / 2)]);
  const p90 = (k: keyof (typeof rows)[0]) => (r.map((x) => x[k] as number).sort((a, b) => a - b)[Math.floor(r.length * 0.9)]);
  console.log(cls, r.length, 'queue', med('q'), p90('q'), 'service', med('s'), p90('s'), 'deliver', med('d'), p90('d'), 'total', med('tot'), p90('tot'));
}
await c.close();
