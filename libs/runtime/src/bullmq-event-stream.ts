import type { Redis } from 'ioredis';

/**
 * BullMQ writes every job transition to a per-queue event stream (`<queue>:events`: XADD on add,
 * active, completed, failed, … and an XTRIM on finishing): four or five stream writes per job per
 * queue, about a tenth of a hop's Redis commands. Only `QueueEvents` reads that stream, and nothing
 * here does: statuses travel on the scheduler's own pub/sub channel. `streams.events.maxLen` only
 * trims; BullMQ has no switch to stop the writes.
 *
 * So, unless asked to keep them (`BULLMQ_EVENTS=true`), the Lua scripts BullMQ registers on our
 * connections are rewritten as they are defined: each `rcall("XADD", …)` and `rcall("XTRIM", …)`
 * becomes a call to a local no-op, and the read of the stream's length cap (`HGET meta
 * opts.maxLenEvents`, used by those writes only) becomes BullMQ's default; nothing else changes
 * (no script reads what those calls return). BullMQ's relay scripts (not used here) are left alone.
 */
const STREAM_WRITES = /rcall\("X(?:ADD|TRIM)",/g;
/** The stream's length cap, read from the queue's meta hash for those writes only. */
const MAX_LEN_READ = /rcall\("HGET", metaKey, "opts\.maxLenEvents"\)/g;
const NO_OP = 'local function noEventStream() end\n';

interface ScriptDefinition {
  numberOfKeys?: number;
  readonly?: boolean;
  lua: string;
}

/** The script without its event-stream writes, and how many it had. */
export function withoutEventStream(lua: string): { lua: string; removed: number } {
  let removed = 0;
  const rewritten = lua
    .replace(STREAM_WRITES, () => {
      removed++;
      return 'noEventStream(';
    })
    .replace(MAX_LEN_READ, () => {
      removed++;
      return '"10000"';
    });
  return removed === 0 ? { lua, removed } : { lua: NO_OP + rewritten, removed };
}

/** Makes every BullMQ script later defined on `redis` skip the event stream (see above). */
export function dropBullmqEventStream(redis: Redis): void {
  const define = redis.defineCommand.bind(redis);
  redis.defineCommand = (name: string, definition: ScriptDefinition): void => {
    define(name, name.startsWith('relay') ? definition : { ...definition, lua: withoutEventStream(definition.lua).lua });
  };
}
