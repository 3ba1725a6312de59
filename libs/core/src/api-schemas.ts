import { z } from 'zod';
import { ERROR_TABLE, JOB_ERROR_CODES, type FieldError, type JobError, type ProblemDetails, type SchedErrorCode } from './errors.js';
import { MAX_BATCH_JOBS, type JobBatchAccepted, type JobBatchEnded, type JobBatchRefused, type JobBatchResult, type JobWaitResult } from './job-batch.js';
import { latencySpecSchema } from './catalog.js';
import { MODEL_NAME_PATTERN, PRIORITIES, jobRequestSchema, type JobRequest } from './job-request.js';
import { fieldErrorsOf } from './zod-issues.js';
import { JOB_STATUSES, WEBHOOK_STATES, type JobAccepted, type JobResult, type JobTimings, type JobView, type WebhookView } from './job-view.js';

/** The longest long-poll (`?wait=`) the API holds, in seconds. */
export const MAX_LONG_POLL_S = 30;

/**
 * Zod schemas of what the API answers, for the OpenAPI document (`apps/api/src/openapi.ts`)
 * and for tests that check real responses. The TypeScript interfaces they describe stay
 * the source the code is written against; the checks at the end of this file fail to
 * compile when a schema and its interface drift apart.
 *
 * Objects are not strict: a client must accept fields added later. Tests that want an
 * exact match compare `schema.parse(body)` (which drops unknown keys) with the body.
 * A `meta` `id` names the schema in the document's `components.schemas`.
 */

const isoTime = z.iso.datetime({ offset: true }).meta({ description: 'ISO 8601 timestamp' });
const count = z.int().nonnegative();
const ms = z.number().nonnegative();
const modelName = z.string().regex(MODEL_NAME_PATTERN).meta({ description: 'A model of the catalog (GET /v1/models)' });
const jobId = z.uuid().meta({ description: 'Job id, a UUID made by the server (v4, or v5 of the API key and Idempotency-Key)' });

export const jobErrorSchema = z
  .object({ code: z.enum(JOB_ERROR_CODES), message: z.string() })
  .meta({ id: 'JobError', description: "Why the job failed (the job's own error, not an HTTP error)" });

export const jobResultSchema = z
  .object({
    model: z.string(),
    worker: z.string(),
    class: z.string(),
    // nonoptional: z.unknown() alone would make the key optional, and a completed job always has an output.
    output: z.unknown().nonoptional().meta({ description: "The model's output (any JSON value)" }),
  })
  .meta({ id: 'JobResult', description: "The worker's result of a completed job" });

export const jobTimingsSchema = z
  .object({
    createdAt: isoTime,
    dispatchedAt: isoTime.optional(),
    startedAt: isoTime.optional(),
    finishedAt: isoTime.optional(),
    queueMs: ms.optional().meta({ description: 'Submission to start, ms' }),
    serviceMs: ms.optional().meta({ description: 'Start to finish, ms' }),
    totalMs: ms.optional().meta({ description: 'Submission to finish, ms' }),
  })
  .meta({ id: 'JobTimings' });

export const webhookViewSchema = z
  .object({
    state: z.enum(WEBHOOK_STATES).meta({
      description:
        '`pending`: not finished or not tried yet; `retrying`: an attempt failed and another is scheduled; `delivered`: a 2xx came back; `failed`: attempts ran out, the receiver answered 410, or the URL is not allowed',
    }),
    attempts: count,
    lastStatus: z.int().optional().meta({ description: 'HTTP status of the last attempt (absent when it got no answer)' }),
    lastError: z.string().optional().meta({ description: 'Why the last attempt failed, when it did' }),
    deliveredAt: isoTime.optional().meta({ description: 'When the receiver first answered 2xx' }),
  })
  .meta({ id: 'WebhookView', description: "Delivery of the job's webhook, when it was submitted with one" });

export const jobViewSchema = z.object({
  id: jobId,
  status: z.enum(JOB_STATUSES),
  model: modelName,
  priority: z.enum(PRIORITIES),
  worker: z.object({ id: z.string(), class: z.string() }).optional().meta({ description: 'The worker the job was routed to' }),
  result: jobResultSchema.optional(),
  error: jobErrorSchema.optional(),
  attempts: count.meta({ description: 'Executions started, on every worker it was routed to (a job taken back from a dead or draining worker keeps its count)' }),
  deadlineMs: z.int().positive().optional().meta({ description: "The job's deadline (ms from submission), when it has one" }),
  timings: jobTimingsSchema,
  metadata: jobRequestSchema.shape.metadata,
  webhook: webhookViewSchema.optional(),
  retryOf: jobId.optional().meta({ description: 'The failed job this one retries (made by `POST /v1/jobs/{id}/retry`)' }),
}).meta({ id: 'JobView', description: 'A job as `GET /v1/jobs/{id}` reads it' });

export const jobAcceptedSchema = z.object({
  id: jobId,
  status: z.literal('queued'),
  model: modelName,
  createdAt: isoTime,
}).meta({ id: 'JobAccepted' });

export const jobListSchema = z.object({
  jobs: z.array(jobViewSchema).meta({ description: 'Newest first' }),
  nextCursor: z.string().optional().meta({ description: 'Pass as `cursor` for the next page; absent on the last page' }),
}).meta({ id: 'JobList' });

/**
 * The request body of `POST /v1/jobs` under its component name. zod types `input` as `unknown`,
 * so the generator would call it optional; a key is required exactly when the schema refuses it
 * absent. (Module level: a zod `id` can be registered once per process.)
 */
export const jobRequestBodySchema = jobRequestSchema.meta({
  id: 'JobRequest',
  required: Object.entries(jobRequestSchema.shape)
    .filter(([, schema]) => !schema.safeParse(undefined).success)
    .map(([key]) => key),
});

/** Where a listing page ended: the next page starts after this index entry. */
export interface JobListCursor {
  score: number;
  id: string;
}

/** The opaque `nextCursor` of a listing page (its inverse is the `cursor` field of jobListQuerySchema). */
export function encodeJobListCursor(cursor: JobListCursor): string {
  return Buffer.from(`${cursor.score}:${cursor.id}`).toString('base64url');
}

/**
 * A query value that must be a number. Query values arrive as strings (or arrays, when repeated),
 * and `z.coerce` would read an empty value as 0.
 */
const queryNumber = <T extends z.ZodNumber>(schema: T) =>
  z.preprocess((value) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value), schema);

const LIMIT_ERROR = { error: 'expected 1-100' };
const WAIT_ERROR = { error: `expected 0-${MAX_LONG_POLL_S}` };

/** Query of `GET /v1/jobs`; unknown parameters are refused. */
export const jobListQuerySchema = z.strictObject({
  status: z.enum(JOB_STATUSES, { error: `expected one of ${JOB_STATUSES.join(', ')}` }).optional(),
  model: modelName.optional(),
  limit: queryNumber(z.int(LIMIT_ERROR).min(1, LIMIT_ERROR).max(100, LIMIT_ERROR)).default(20),
  cursor: z
    .string()
    .transform((text, ctx): JobListCursor => {
      const match = /^(\d+):([0-9a-f-]{36})$/.exec(Buffer.from(text, 'base64url').toString('utf8'));
      if (match === null) {
        ctx.addIssue({ code: 'custom', message: 'expected a nextCursor from a previous page' });
        return z.NEVER;
      }
      return { score: Number(match[1]), id: match[2] ?? '' };
    })
    .optional()
    .meta({ description: '`nextCursor` of the previous page' }),
});

/** Query of `GET /v1/jobs/:id`. */
export const jobReadQuerySchema = z.object({
  wait: queryNumber(z.number(WAIT_ERROR).min(0, WAIT_ERROR).max(MAX_LONG_POLL_S, WAIT_ERROR))
    .optional()
    .meta({
      description: `Long-poll: answer when the job finishes or after this many seconds (0-${MAX_LONG_POLL_S}), whichever comes first`,
    }),
});

export const jobIdParamsSchema = z.object({ id: jobId });

const usageCount = z.int().nonnegative();

export const tenantUsageSchema = z
  .object({
    tenant: z.string().meta({ description: 'The key\'s name (API_KEYS_FILE `name`, `key-<n>`, `admin-<n>`), or `anonymous`' }),
    jobs: z
      .object({
        submitted: usageCount,
        completed: usageCount,
        failed: usageCount.meta({ description: 'Failed on a worker after its retries (a job that failed before running, e.g. its deadline, is not counted)' }),
        cancelled: usageCount,
      })
      .meta({ description: 'Jobs by outcome since usage was first recorded' }),
    serviceSeconds: z.number().nonnegative().meta({ description: "Workers' busy time for the finished jobs (each job's last execution)" }),
    cost: z.number().nonnegative().meta({ description: "Σ per worker of service hours × its fleet-file `costPerHour` (0 for a worker without one), in the fleet file's currency unit" }),
  })
  .meta({ id: 'TenantUsage' });

export const usageListSchema = z.object({ tenants: z.array(tenantUsageSchema) }).meta({ id: 'UsageList' });

/** Query of `DELETE /v1/jobs/:id`. */
export const jobDeleteQuerySchema = z.strictObject({
  purge: z
    .enum(['true', 'false'], { error: 'expected true or false' })
    .optional()
    .transform((value) => value === 'true')
    .meta({
      description:
        "`true`: delete the job's data now (input, result, listing entries, Idempotency-Key record) rather than at the end of its retention; a job not yet started is cancelled first, a running one answers 409",
    }),
});

/** Headers of `POST /v1/jobs`. */
export const jobSubmitHeadersSchema = z.object({
  'Idempotency-Key': z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, { error: 'expected 1-255 visible ASCII characters' })
    .optional()
    .meta({
      description:
        'Makes the submission safe to retry (1-255 visible ASCII characters): the same key and body get the first answer again for 24 h, and no second job; another body gets 422 `idempotency_mismatch`; while the first request with the key may still be adding its job, 409 `idempotency_in_progress` with `Retry-After`',
    }),
  // Never refused: RFC 7240 asks a server to ignore a preference it does not understand (apps/api/src/submit-preference.ts).
  Prefer: z
    .string()
    .optional()
    .meta({
      description: [
        `RFC 7240. \`wait=<s>\` (0 < s ≤ ${MAX_LONG_POLL_S}, decimals allowed, more is read as ${MAX_LONG_POLL_S}): hold the answer until the job is completed, failed or cancelled`,
        '(200 with the job view) or for that long (then the usual 202). `respond-async`: answer 202 at once (the default).',
        'Both: wait, then 202. Unknown preferences and a malformed `wait` are ignored; the response says what it honoured in `Preference-Applied`.',
      ].join(' '),
      example: 'wait=10',
    }),
});

const EVENT_ID = /^\d+$/;

/**
 * Headers of `GET /v1/jobs/:id/events`. A reconnecting EventSource sends back whatever id it saw
 * last; one that is not ours starts the stream from the beginning rather than failing it.
 */
export const jobEventsHeadersSchema = z.object({
  'Last-Event-ID': z
    .string()
    .optional()
    .transform((value) => (value !== undefined && EVENT_ID.test(value) ? Number(value) : undefined))
    .meta({ pattern: EVENT_ID.source, description: 'The `id` of the last event seen: a reconnecting stream resumes after it, without repeats' }),
});

const ERROR_CODES = Object.keys(ERROR_TABLE) as SchedErrorCode[];

export const fieldErrorSchema = z.object({ path: z.string(), message: z.string() }).readonly().meta({ id: 'FieldError' });

export const problemDetailsSchema = z
  .object({
    type: z.string().meta({ description: '`urn:sched:problem:<code>`' }),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    code: z.enum(ERROR_CODES),
    instance: z.string().optional().meta({ description: 'The request path' }),
    errors: z.array(fieldErrorSchema).readonly().optional().meta({ description: 'Each field that failed validation' }),
    jobId: jobId
      .optional()
      .meta({ description: 'On a 503 to a submission: the id its job has if the add landed after all (also `Location`); GET it before retrying without an Idempotency-Key' }),
  })
  .meta({ id: 'ProblemDetails', description: 'RFC 9457 problem details plus a stable `code`' });

/** A batch item that does not match `JobRequest`: its field errors, paths relative to the item (`model`, not `jobs[3].model`). */
export interface InvalidJobRequest {
  readonly invalid: readonly FieldError[];
}

export function isInvalidJobRequest(item: JobRequest | InvalidJobRequest): item is InvalidJobRequest {
  return 'invalid' in item;
}

/**
 * One job of a batch: the same schema as `POST /v1/jobs`'s body, but a mismatch is the item's own
 * refusal, not the request's, so it parses to its field errors instead of failing the envelope.
 * Documented as a `JobRequest`.
 */
const jobBatchItemSchema = z
  .unknown()
  .transform((value): JobRequest | InvalidJobRequest => {
    const parsed = jobRequestSchema.safeParse(value);
    return parsed.success ? parsed.data : { invalid: fieldErrorsOf(parsed.error) };
  })
  .meta({ type: 'object', allOf: [{ $ref: '#/components/schemas/JobRequest' }] });

const BATCH_SIZE_ERROR = { error: `expected 1-${MAX_BATCH_JOBS} jobs` };

/** The body of `POST /v1/jobs/batch`: the envelope is checked whole, each job on its own. */
export const jobBatchBodySchema = z
  .strictObject({
    jobs: z
      .array(jobBatchItemSchema, { error: 'expected an array of jobs' })
      .min(1, BATCH_SIZE_ERROR)
      .max(MAX_BATCH_JOBS, BATCH_SIZE_ERROR)
      .meta({ description: `1 to ${MAX_BATCH_JOBS} jobs, each as the body of \`POST /v1/jobs\`` }),
  })
  .meta({ id: 'JobBatchRequest' });

/** Headers of `POST /v1/jobs/batch`. */
export const jobBatchHeadersSchema = z.object({
  'Idempotency-Key': jobSubmitHeadersSchema.shape['Idempotency-Key'].meta({
    description: [
      'Makes the whole batch safe to retry (1-255 visible ASCII characters): item i gets its own key, derived from this one and i,',
      'so a retry of the same batch gets each first answer again for 24 h and adds no second job; an item sent with another body',
      'than the first time gets 422 `idempotency_mismatch` in its result, the others are unaffected',
    ].join(' '),
  }),
  Prefer: jobSubmitHeadersSchema.shape.Prefer.meta({
    description: [
      `RFC 7240. \`wait=<s>\` (0 < s ≤ ${MAX_LONG_POLL_S}): hold the answer until every accepted job is completed, failed or cancelled, or for that long;`,
      'each job that ended is then a `200` result with its view, the others `202` as without it. `respond-async`: answer at once (the default).',
    ].join(' '),
    example: 'wait=10',
  }),
});

export const jobBatchResultSchema = z
  .object({
    accepted: count.meta({ description: 'Items added (or replayed), ended ones included' }),
    refused: count,
    results: z
      .array(
        z.union([
          z.object({ status: z.literal(202), job: jobAcceptedSchema }).meta({ id: 'JobBatchAccepted', description: 'Added (or the first answer to its key, again)' }),
          z.object({ status: z.literal(200), job: jobViewSchema }).meta({ id: 'JobBatchEnded', description: 'Ended within `Prefer: wait`' }),
          z
            .object({ status: z.int(), problem: problemDetailsSchema })
            .meta({ id: 'JobBatchRefused', description: 'Refused: the status and problem `POST /v1/jobs` would have answered for this job alone' }),
        ]),
      )
      .meta({ description: 'One per job, in the order sent' }),
  })
  .meta({ id: 'JobBatchResult' });

/** The body of `POST /v1/jobs/wait`. */
export const jobWaitBodySchema = z
  .strictObject({
    ids: z
      .array(jobId, { error: 'expected an array of job ids' })
      .min(1, { error: `expected 1-${MAX_BATCH_JOBS} ids` })
      .max(MAX_BATCH_JOBS, { error: `expected 1-${MAX_BATCH_JOBS} ids` }),
    timeoutS: z
      .number(WAIT_ERROR)
      .min(0, WAIT_ERROR)
      .max(MAX_LONG_POLL_S, WAIT_ERROR)
      .default(MAX_LONG_POLL_S)
      .meta({ description: `Answer when every job has ended or after this many seconds (0-${MAX_LONG_POLL_S}; 0 reads them at once)` }),
  })
  .meta({ id: 'JobWaitRequest' });

export const jobWaitResultSchema = z
  .object({
    done: z.boolean().meta({ description: 'No listed job is still pending' }),
    jobs: z.array(jobViewSchema).meta({ description: 'The current view of every known job, in the order asked (a repeated id once)' }),
    pending: z.array(jobId).meta({ description: 'Jobs that have not ended' }),
    unknown: z.array(z.string()).meta({ description: 'Ids that name no job (never submitted, or expired)' }),
  })
  .meta({ id: 'JobWaitResult' });

export const healthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
export const readinessSchema = z.object({ status: z.literal('ready') }).meta({ id: 'Readiness' });

/** One worker in `GET /v1/fleet` and the fleet stream (`WorkerStatus` in apps/api). */
export const workerStatusSchema = z.object({
  id: z.string(),
  class: z.string().nullable().meta({ description: 'null once the worker is down (its descriptor expired)' }),
  models: z.array(z.string()),
  slots: z.int().nullable(),
  state: z.enum(['live', 'draining', 'down']),
  depth: count.meta({ description: 'waiting + active' }),
  waiting: count,
  active: count,
  retrying: count.meta({ description: 'Failed attempts waiting for their backoff' }),
  heartbeatAgeMs: ms,
  serviceMs: z.record(z.string(), z.number()).meta({ description: 'Observed mean service time per model, ms' }),
  busy: count,
  batchSize: z.number().meta({ description: 'Mean jobs per execution (1 without batching)' }),
}).meta({ id: 'FleetWorker' });

export const fleetListSchema = z.object({ workers: z.array(workerStatusSchema) }).meta({ id: 'FleetList' });

/** The last minute's completions (`RecentSummary` in apps/api). */
export const recentSummarySchema = z.object({
  throughputPerS: z.number().nonnegative(),
  p99Ms: z.number().nullable(),
  shareByWorker: z.record(z.string(), z.number()),
  jobs: count,
}).meta({ id: 'RecentSummary' });

/** `data` of each `fleet` event of `GET /v1/fleet/stream`. */
export const fleetStatusSchema = z
  .object({ workers: z.array(workerStatusSchema), recent: recentSummarySchema })
  .meta({ id: 'FleetSnapshot' });

export const modelCatalogSchema = z.object({
  models: z.array(
    z.object({
      name: z.string(),
      classes: z.record(z.string(), latencySpecSchema).meta({ description: 'Latency per worker class, as in the fleet file' }),
      workers: z.array(z.string()).meta({ description: 'Workers that serve the model' }),
      limits: z
        .object({ maxInputTokens: z.number().int(), maxOutputTokens: z.number().int() })
        .meta({ description: 'The largest `size` a job of this model may ask for (beyond: 422 `size_limit_exceeded`)' }),
    }),
  ),
}).meta({ id: 'ModelCatalog' });

/**
 * True when A and B are the same type, optional keys included (mutual assignability alone
 * would let a schema miss an optional field); a `false` here is a compile error below.
 */
export type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;

type _SchemasMatchInterfaces = [
  Expect<Equals<z.infer<typeof jobViewSchema>, JobView>>,
  Expect<Equals<z.infer<typeof jobAcceptedSchema>, JobAccepted>>,
  Expect<Equals<z.infer<typeof jobTimingsSchema>, JobTimings>>,
  Expect<Equals<z.infer<typeof jobResultSchema>, JobResult>>,
  Expect<Equals<z.infer<typeof webhookViewSchema>, WebhookView>>,
  Expect<Equals<z.infer<typeof jobErrorSchema>, JobError>>,
  Expect<Equals<z.infer<typeof problemDetailsSchema>, ProblemDetails>>,
  Expect<Equals<z.infer<typeof jobBatchResultSchema>, JobBatchResult>>,
  Expect<Equals<z.infer<typeof jobBatchResultSchema>['results'][number], JobBatchAccepted | JobBatchEnded | JobBatchRefused>>,
  Expect<Equals<z.infer<typeof jobWaitResultSchema>, JobWaitResult>>,
];
