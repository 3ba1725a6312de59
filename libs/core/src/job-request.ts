import { z } from 'zod';
import { MAX_INPUT_DEPTH, nestedDeeperThan } from './json-depth.js';

export const PRIORITIES = ['high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

/**
 * Steps of one priority band in a BullMQ priority: a worker queue orders a band's jobs by their fair
 * rank (see libs/policies fair-share.ts), and three bands fit under BullMQ's 2^21 priorities.
 */
export const PRIORITY_BAND_STEPS = 2 ** 19;

/** BullMQ priority per level, the first of its band: lower runs first, and no job is ever added without one. */
export const BULLMQ_PRIORITY: Readonly<Record<Priority, number>> = Object.freeze({ high: 1, normal: 1 + PRIORITY_BAND_STEPS, low: 1 + 2 * PRIORITY_BAND_STEPS });

export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const nonNegativeInt = z
  .int({ error: 'expected a non-negative integer' })
  .nonnegative({ error: 'expected a non-negative integer' })
  .max(10_000_000, { error: 'expected at most 10000000' });

export const jobSizeSchema = z.strictObject({
  inputTokens: nonNegativeInt,
  outputTokens: nonNegativeInt,
});
export type JobSize = z.infer<typeof jobSizeSchema>;

const metadataValue = z.union([z.string().max(1024), z.number(), z.boolean(), z.null()], {
  error: 'expected a string (≤ 1024 chars), number, boolean or null',
});

export const jobRequestSchema = z.strictObject({
  model: z
    .string({ error: 'expected a model name' })
    .regex(MODEL_NAME_PATTERN, { error: 'expected a model name (letters, digits, . _ -, ≤ 128 chars)' }),
  // The body was parsed from JSON, so any value present is JSON; only absence is an error.
  input: z
    .unknown()
    .refine((value) => value !== undefined, { error: 'required (any JSON value)', abort: true })
    .refine((value) => !nestedDeeperThan(value, MAX_INPUT_DEPTH), { error: `nested deeper than ${MAX_INPUT_DEPTH} levels of arrays and objects` }),
  priority: z.enum(PRIORITIES, { error: 'expected one of high, normal, low' }).default('normal'),
  deadlineMs: z
    .int({ error: 'expected a positive integer (milliseconds)' })
    .positive({ error: 'expected a positive integer (milliseconds)' })
    .max(86_400_000, { error: 'expected at most 86400000 (24 h)' })
    .optional(),
  size: jobSizeSchema.optional(),
  webhook: z
    .strictObject({
      url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).max(2048),
    })
    .optional(),
  metadata: z
    .record(z.string().max(64), metadataValue)
    .refine((m) => Object.keys(m).length <= 32, { error: 'expected at most 32 keys' })
    .optional(),
});

export type JobRequest = z.infer<typeof jobRequestSchema>;
/** What the request looks like on the wire, before defaults. */
export type JobRequestInput = z.input<typeof jobRequestSchema>;
