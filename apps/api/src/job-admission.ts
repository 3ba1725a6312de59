import { SchedError, hasModel, type Catalog, type Config, type JobRequest } from '@sched/core';
import { forbiddenWebhookUrl } from './webhook-url.js';

export interface JobAdmissionOptions {
  config: Pick<Config, 'WEBHOOK_SECRET' | 'WEBHOOK_ALLOW_PRIVATE'>;
  catalog: Pick<Catalog, 'models'>;
}

/**
 * What the schema cannot tell about a job, for `POST /v1/jobs` and each item of a batch alike:
 * its model is in the catalog, and its webhook may be sent. Throws the refusal.
 */
export function jobAdmission(options: JobAdmissionOptions): (request: JobRequest) => void {
  const { config, catalog } = options;
  return (request) => {
    if (!hasModel(catalog.models, request.model)) {
      throw new SchedError('unknown_model', `model "${request.model}" is not in the catalog (GET /v1/models)`, {
        fieldErrors: [{ path: 'model', message: 'unknown model' }],
      });
    }
    if (request.webhook === undefined) return;
    if (config.WEBHOOK_SECRET === undefined) {
      throw new SchedError('webhooks_disabled', 'this deployment has no WEBHOOK_SECRET, so it sends no webhooks; poll, long-poll or use SSE', {
        fieldErrors: [{ path: 'webhook', message: 'webhooks are not enabled here' }],
      });
    }
    const forbidden = config.WEBHOOK_ALLOW_PRIVATE ? null : forbiddenWebhookUrl(request.webhook.url);
    if (forbidden !== null) {
      throw new SchedError('webhook_url_forbidden', `webhook.url is not allowed: ${forbidden} (set WEBHOOK_ALLOW_PRIVATE=true for local development)`, {
        fieldErrors: [{ path: 'webhook.url', message: forbidden }],
      });
    }
  };
}
