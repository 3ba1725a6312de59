export { ApiError, parseRetryAfter, type ApiErrorCode, type ClientErrorCode } from './api-error.js';
export { type ClientOptions } from './client-options.js';
export {
  createClient,
  isTerminalStatus,
  MAX_BATCH_JOBS,
  MAX_LONG_POLL_S,
  type EventsOptions,
  type SchedClient,
  type SubmitAndWaitOptions,
  type SubmitBatchAndWaitOptions,
  type SubmitBatchOptions,
  type SubmitOptions,
  type WaitManyOptions,
  type WaitOptions,
} from './client.js';
export { type BatchJobOutcome, type BatchWaitResult } from './batch-outcome.js';
export { type JobEvent } from './job-events.js';
export { SseParser, type SseMessage } from './sse-parser.js';
export { verifyWebhook, WebhookVerificationError, type VerifiedWebhook, type WebhookHeaders } from './verify-webhook.js';
