/** The deepest nesting of arrays and objects a job's input may have. */
export const MAX_INPUT_DEPTH = 64;

/**
 * Whether a parsed JSON value nests arrays and objects deeper than `maxDepth` (`1` is depth 0,
 * `{"a":1}` depth 1). Iterative, so a value nested 100,000 levels deep is measured without a
 * recursion of its own: JSON.stringify, hashing and BullMQ's serialisation are recursive and
 * overflow the stack on such a value, so the cap runs before any of them (in the request schema).
 */
export function nestedDeeperThan(value: unknown, maxDepth: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item !== 'object' || item === null) continue;
    if (depth + 1 > maxDepth) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (typeof child === 'object' && child !== null) pending.push([child, depth + 1]);
    }
  }
  return false;
}
