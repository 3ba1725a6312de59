import { SchedError, hasModel, modelLimits, type Catalog, type Config, type JobRequest } from '@sched/core';
import { forbiddenWebhookUrl } from './webhook-url.js';

export interface JobAdmissionOptions {
  config: Pick<Config, 'WEBHOOK_SECRET' | 'WEBHOOK_ALLOW_PRIVATE' | 'MAX_INPUT_BYTES'>;
  catalog: Pick<Catalog, 'models' | 'limits'>;
  /** The guard on expected wait per model (429 `overloaded`); none admits every load. */
  load?: { check(model: string): void };
}

/**
 * What the schema cannot tell about a job, for `POST /v1/jobs` and each item of a batch alike:
 * its model is in the catalog, its size is within that model's limits, its input within
 * MAX_INPUT_BYTES, its webhook may be sent, and its model is not overloaded. Throws the refusal.
 */
export function jobAdmission(options: JobAdmissionOptions): (request: JobRequest) => void {
  const { config, catalog, load } = options;
  return (request) => {
    if (!hasModel(catalog.models, request.model)) {
      throw new SchedError('unknown_model', `model "${request.model}" is not in the catalog (GET /v1/models)`, {
        fieldErrors: [{ path: 'model', message: 'unknown model' }],
      });
    }
    checkSize(request, modelLimits(catalog, request.model));
    // The input travels in every copy of the job (ingress, worker queue): its serialised size is what Redis holds.
    const inputBytes = Buffer.byteLength(JSON.stringify(request.input));
    if (inputBytes > config.MAX_INPUT_BYTES) {
      throw new SchedError('input_too_large', `input is ${inputBytes} bytes as JSON; at most ${config.MAX_INPUT_BYTES} are accepted (MAX_INPUT_BYTES)`, {
        fieldErrors: [{ path: 'input', message: `at most ${config.MAX_INPUT_BYTES} bytes as JSON` }],
      });
    }
    if (request.webhook !== undefined) admitWebhook(request.webhook.url);
    load?.check(request.model);
  };

  function admitWebhook(url: string): void {
    if (config.WEBHOOK_SECRET === undefined) {
      throw new SchedError('webhooks_disabled', 'this deployment has no WEBHOOK_SECRET, so it sends no webhooks; poll, long-poll or use SSE', {
        fieldErrors: [{ path: 'webhook', message: 'webhooks are not enabled here' }],
      });
    }
    const forbidden = config.WEBHOOK_ALLOW_PRIVATE ? null : forbiddenWebhookUrl(url);
    if (forbidden !== null) {
      throw new SchedError('webhook_url_forbidden', `webhook.url is not allowed: ${forbidden} (set WEBHOOK_ALLOW_PRIVATE=true for local development)`, {
        fieldErrors: [{ path: 'webhook.url', message: forbidden }],
      });
    }
  }
}

/** A job past its model's size caps would hold a slot for as long as it asks: refused before it exists. */
function checkSize(request: JobRequest, limits: ReturnType<typeof modelLimits>): void {
  if (request.size === undefined) return;
  const fieldErrors = [];
  if (request.size.inputTokens > limits.maxInputTokens) {
    fieldErrors.push({ path: 'size.inputTokens', message: `at most ${limits.maxInputTokens} for model "${request.model}"` });
  }
  if (request.size.outputTokens > limits.maxOutputTokens) {
    fieldErrors.push({ path: 'size.outputTokens', message: `at most ${limits.maxOutputTokens} for model "${request.model}"` });
  }
  if (fieldErrors.length === 0) return;
  throw new SchedError('size_limit_exceeded', `the job's size is beyond the limits of model "${request.model}" (GET /v1/models): ${fieldErrors.map((e) => `${e.path} ${e.message}`).join('; ')}`, {
    fieldErrors,
  });
}
