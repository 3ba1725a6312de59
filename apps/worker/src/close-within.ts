/** Something that closes gracefully, or at once when forced: a BullMQ Worker. */
export interface Closable {
  close(force?: boolean): Promise<void>;
}

/**
 * Closes `target` gracefully if that ends within `deadlineMs`, else force-closes it. Resolves
 * whether the graceful close made it in time.
 */
export async function closeWithin(target: Closable, deadlineMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), deadlineMs);
  });
  let inTime: boolean;
  try {
    inTime = await Promise.race([target.close().then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
  if (!inTime) await target.close(true);
  return inTime;
}
