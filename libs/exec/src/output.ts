/**
 * The simulated model's output: a small deterministic function of the input
 * (FNV-1a of its JSON), so a test can check that the result belongs to the job.
 */
export function simulateOutput(model: string, input: unknown): { digest: string; inputBytes: number } {
  const text = `${model}\u0000${JSON.stringify(input) ?? 'null'}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return { digest: (hash >>> 0).toString(16).padStart(8, '0'), inputBytes: Buffer.byteLength(text) - model.length - 1 };
}
