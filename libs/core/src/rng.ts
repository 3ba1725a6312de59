/** A source of uniform numbers in [0, 1). Policies and the execution model take one, so tests and the simulator can seed it. */
export type Rng = () => number;

/** mulberry32: tiny, fast, and good enough for simulation (not for anything secret). */
export function seededRng(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
