/**
 * A binary min-heap of (time, payload) pairs in typed arrays: the simulator
 * pushes and pops millions of events, and parallel typed arrays avoid one
 * object per event. Equal times pop in an order fixed by the push sequence, so
 * a run is reproducible.
 */
export class EventHeap {
  private times: Float64Array;
  private payloads: Int32Array;
  private count = 0;

  constructor(capacity = 1024) {
    this.times = new Float64Array(capacity);
    this.payloads = new Int32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Time of the earliest event; only meaningful when `size > 0`. */
  peekTime(): number {
    return this.times[0] as number;
  }

  /** Payload of the earliest event; only meaningful when `size > 0`. */
  peekPayload(): number {
    return this.payloads[0] as number;
  }

  push(time: number, payload: number): void {
    if (this.count === this.times.length) this.grow();
    const times = this.times;
    const payloads = this.payloads;
    let i = this.count++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const parentTime = times[parent] as number;
      if (parentTime <= time) break;
      times[i] = parentTime;
      payloads[i] = payloads[parent] as number;
      i = parent;
    }
    times[i] = time;
    payloads[i] = payload;
  }

  /** Removes the earliest event (read it first with `peekTime`/`peekPayload`). */
  pop(): void {
    const n = --this.count;
    if (n === 0) return;
    const times = this.times;
    const payloads = this.payloads;
    const time = times[n] as number;
    const payload = payloads[n] as number;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && (times[right] as number) < (times[child] as number)) child = right;
      const childTime = times[child] as number;
      if (childTime >= time) break;
      times[i] = childTime;
      payloads[i] = payloads[child] as number;
      i = child;
    }
    times[i] = time;
    payloads[i] = payload;
  }

  private grow(): void {
    const times = new Float64Array(this.times.length * 2);
    const payloads = new Int32Array(this.payloads.length * 2);
    times.set(this.times);
    payloads.set(this.payloads);
    this.times = times;
    this.payloads = payloads;
  }
}
