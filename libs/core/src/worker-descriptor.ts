import { z } from 'zod';

export const WORKER_STATES = ['live', 'draining'] as const;
export type WorkerState = (typeof WORKER_STATES)[number];

/**
 * The heartbeat record of one worker: the hash `keys.workerDescriptor(id)`,
 * refreshed every HEARTBEAT_MS with a TTL of about three heartbeats, so the
 * key exists exactly while the worker is alive.
 */
export const workerDescriptorSchema = z.object({
  id: z.string(),
  class: z.string(),
  models: z.array(z.string()),
  slots: z.int().positive(),
  state: z.enum(WORKER_STATES),
  host: z.string(),
  pid: z.int(),
  startedAt: z.number(),
  heartbeatAt: z.number(),
  /** Observed mean service time per model in ms (jobs finished by this worker). */
  serviceMs: z.record(z.string(), z.number()),
  /** Mean jobs per execution (1 without batching). */
  batchSize: z.number(),
  /** Jobs one execution may batch (the fleet file's maxBatch; 1 without batching). */
  maxBatch: z.int().positive().default(1),
  busy: z.int().nonnegative(),
  /** Price per hour of busy time, from the fleet file (0 when not given). */
  costPerHour: z.number().nonnegative().default(0),
});
export type WorkerDescriptor = z.infer<typeof workerDescriptorSchema>;

const JSON_FIELDS = new Set(['models', 'serviceMs']);
const NUMBER_FIELDS = new Set(['slots', 'pid', 'startedAt', 'heartbeatAt', 'batchSize', 'maxBatch', 'busy', 'costPerHour']);

export function encodeDescriptor(descriptor: WorkerDescriptor): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(descriptor) as [string, unknown][]) {
    out[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}

/** Returns null for a hash that is missing or not a descriptor (never throws on foreign data). */
export function decodeDescriptor(hash: Record<string, string>): WorkerDescriptor | null {
  if (hash.id === undefined) return null;
  const raw: Record<string, unknown> = {};
  try {
    for (const [key, value] of Object.entries(hash)) {
      raw[key] = JSON_FIELDS.has(key) ? JSON.parse(value) : NUMBER_FIELDS.has(key) ? Number(value) : value;
    }
  } catch {
    return null;
  }
  const parsed = workerDescriptorSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

/** Published on `keys.fleetChannel` so dispatchers react before their next fleet refresh. */
export interface FleetMessage {
  worker: string;
  event: 'joined' | 'draining' | 'left';
  at: number;
}
