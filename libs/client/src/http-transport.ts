import { Agent, type Dispatcher } from 'undici';
import { ApiError, errorFromResponse } from './api-error.js';
import type { CompiledClientOptions } from './client-options.js';

export interface HttpRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Relative to the base URL, without a leading slash, query string included. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
  /** Added to the request time limit (a long-poll's own wait). */
  extraTimeoutMs?: number;
}

export type ResponseBody = Dispatcher.ResponseData['body'];

export interface JsonAnswer<T> {
  /** The 2xx status. */
  status: number;
  body: T;
}

const USER_AGENT = 'sched-client/0.1.0';

/**
 * The abort wiring of one request: its own controller, aborted by the time limit
 * or by the caller's signal. Not AbortSignal.any: the caller's signal may live for
 * a whole load run, and every request must let go of it when it ends.
 */
class Exchange {
  readonly controller = new AbortController();
  private timedOut = false;
  private readonly timer: NodeJS.Timeout;
  private readonly onCallerAbort = (): void => this.controller.abort(this.callerSignal?.reason);

  constructor(
    private readonly label: { method: string; path: string },
    private readonly callerSignal: AbortSignal | undefined,
    limitMs: number,
  ) {
    callerSignal?.addEventListener('abort', this.onCallerAbort, { once: true });
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, limitMs);
  }

  stopTimer(): void {
    clearTimeout(this.timer);
  }

  release(): void {
    clearTimeout(this.timer);
    this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
  }

  /** The caller's own abort reason, an ApiError as is, else a timeout or network ApiError. */
  classify(error: unknown): unknown {
    if (this.callerSignal?.aborted === true) return this.callerSignal.reason;
    if (error instanceof ApiError) return error;
    const { method, path } = this.label;
    const context = { method, path, cause: error };
    if (this.timedOut) return new ApiError('request_timeout', `${method} ${path}: no answer within the time limit`, context);
    const reason = error instanceof Error ? error.message : String(error);
    return new ApiError('network_error', `${method} ${path}: ${reason}`, context);
  }
}

/**
 * One keep-alive connection pool to the API. undici's `request` rather than the
 * global fetch: it costs about a third of fetch's CPU per request (measured on
 * this project's 2-core box: ~240 µs against ~660-850 µs), which is what lets a
 * load generator drive 500+ jobs/s without being the bottleneck.
 */
export class HttpTransport {
  private readonly agent: Agent;

  constructor(private readonly options: CompiledClientOptions) {
    this.agent = new Agent({ connections: options.connections });
  }

  /** Sends a request and parses its 2xx JSON answer; anything else throws an ApiError. */
  async json<T>(request: HttpRequest): Promise<T> {
    return (await this.send<T>(request)).body;
  }

  /** {@link json}, with the answer's status, for a request whose 2xx answers differ (200 or 202). */
  async send<T>(request: HttpRequest): Promise<JsonAnswer<T>> {
    const { exchange, dispatch } = this.prepare(request);
    try {
      const response = await dispatch();
      const text = await response.body.text();
      try {
        return { status: response.statusCode, body: JSON.parse(text) as T };
      } catch (error) {
        throw new ApiError('invalid_response', `${request.method} /${request.path}: answer is not JSON`, {
          status: response.statusCode,
          cause: error,
        });
      }
    } catch (error) {
      throw exchange.classify(error);
    } finally {
      exchange.release();
    }
  }

  /**
   * Sends a request and hands back the open body of its 2xx answer, for streams:
   * the time limit covers the wait for the headers; the caller's signal, the whole stream.
   */
  async stream(request: HttpRequest): Promise<ResponseBody> {
    const { exchange, dispatch } = this.prepare(request);
    try {
      const response = await dispatch();
      exchange.stopTimer();
      response.body.once('close', () => exchange.release());
      return response.body;
    } catch (error) {
      exchange.release();
      throw exchange.classify(error);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private prepare(request: HttpRequest): { exchange: Exchange; dispatch: () => Promise<Dispatcher.ResponseData> } {
    const url = new URL(request.path, this.options.baseUrl);
    const path = `${url.pathname}${url.search}`;
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, accept: 'application/json', ...request.headers };
    if (this.options.apiKey !== undefined) headers.authorization = `Bearer ${this.options.apiKey}`;
    let body: string | null = null;
    if (request.body !== undefined) {
      body = JSON.stringify(request.body);
      headers['content-type'] = 'application/json';
    }
    const exchange = new Exchange(
      { method: request.method, path },
      request.signal,
      this.options.timeoutMs + (request.extraTimeoutMs ?? 0),
    );
    const dispatch = async (): Promise<Dispatcher.ResponseData> => {
      request.signal?.throwIfAborted();
      const response = await this.agent.request({
        origin: url.origin,
        path,
        method: request.method,
        headers,
        body,
        signal: exchange.controller.signal,
      });
      if (response.statusCode >= 200 && response.statusCode < 300) return response;
      const text = await response.body.text();
      const retryAfter = response.headers['retry-after'];
      throw errorFromResponse(
        { method: request.method, path },
        response.statusCode,
        text,
        Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      );
    };
    return { exchange, dispatch };
  }
}
