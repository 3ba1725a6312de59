import type { JobStatus, JobView } from '@sched/core';
import { ApiError } from './api-error.js';
import type { HttpTransport } from './http-transport.js';
import { SseParser } from './sse-parser.js';

/**
 * One status change of a job. The event name is the new status; the data is the
 * job view at that moment (the route is not built yet: this is the agreed shape
 * until docs/architecture.md says otherwise).
 */
export interface JobEvent {
  /** The SSE `id:`; pass the last one seen as `lastEventId` to resume. */
  id: string | undefined;
  event: JobStatus | (string & {});
  data: JobView;
}

export async function* jobEvents(
  http: HttpTransport,
  path: string,
  options: { lastEventId?: string; signal?: AbortSignal },
): AsyncGenerator<JobEvent, void, undefined> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
  const body = await http.stream({ method: 'GET', path, headers, signal: options.signal });
  const parser = new SseParser(options.lastEventId);
  const decoder = new TextDecoder();
  try {
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      for (const message of parser.push(decoder.decode(chunk, { stream: true }))) {
        let data: JobView;
        try {
          data = JSON.parse(message.data) as JobView;
        } catch (error) {
          throw new ApiError('invalid_response', `GET /${path}: event data is not JSON`, { cause: error });
        }
        yield { id: message.id, event: message.event, data };
      }
    }
  } catch (error) {
    if (options.signal?.aborted === true) throw options.signal.reason;
    if (error instanceof ApiError) throw error;
    throw new ApiError('network_error', `GET /${path}: stream broke: ${String(error)}`, { cause: error });
  } finally {
    // The consumer may stop early (break): let the connection go.
    body.destroy();
  }
}
