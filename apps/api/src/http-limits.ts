import { STATUS_CODES, createServer, maxHeaderSize, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestHandler } from 'express';
import { SchedError, problemDetails, type Config } from '@sched/core';
import type { Logger } from '@sched/runtime';
import { sendProblem } from './problem.js';

export type HttpLimitsConfig = Pick<Config, 'HTTP_HEADERS_TIMEOUT_MS' | 'HTTP_REQUEST_TIMEOUT_MS' | 'HTTP_MAX_CONNECTIONS' | 'MAX_URL_BYTES'>;

/** Idle keep-alive sockets are kept a little longer than typical clients and load balancers keep theirs (60 s). */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** How often Node checks the header and request timeouts (its default, 30 s, would let a slow client run 30 s over them). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;
/** Dropped connections are logged at most this often. */
const DROP_LOG_INTERVAL_MS = 10_000;

/**
 * The API's HTTP server with its limits: headers within HTTP_HEADERS_TIMEOUT_MS, the whole request
 * (body included) within HTTP_REQUEST_TIMEOUT_MS, at most HTTP_MAX_CONNECTIONS connections. The
 * request timeout ends once a request has been read, so a long-poll or an SSE stream (answers that
 * take long) stays open. What Node itself refuses before Express sees it (headers too large, a
 * malformed request, a timeout, CONNECT, an `Expect` it does not know, a missing Host) is answered
 * as problem+json too.
 */
export function createHttpServer(app: RequestListener, config: HttpLimitsConfig, logger: Logger): Server {
  const server = createServer(
    {
      headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
      // Node would answer a missing Host with an empty 400 of its own; requestHeadCheck answers it.
      requireHostHeader: false,
    },
    app,
  );
  // Past the cap Node closes a new connection at once (the cheapest answer to a flood); the client sees a reset.
  server.maxConnections = config.HTTP_MAX_CONNECTIONS;
  let dropped = 0;
  let lastDropLog = 0;
  server.on('drop', () => {
    dropped++;
    const now = Date.now();
    if (now - lastDropLog < DROP_LOG_INTERVAL_MS) return;
    lastDropLog = now;
    logger.warn({ dropped, maxConnections: config.HTTP_MAX_CONNECTIONS }, 'connection cap reached: new connections closed (HTTP_MAX_CONNECTIONS)');
  });
  server.on('clientError', (error: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex) => answerClientError(error, socket, config));
  // Without these listeners Node closes a CONNECT's connection without a word, and answers an unknown `Expect` with an empty 417.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    writeProblem(socket, new SchedError('method_not_allowed', 'CONNECT is not allowed: this is not a proxy'));
  });
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const problem = new SchedError('expectation_failed', `Expect: ${req.headers.expect ?? ''} is not supported (only 100-continue is)`);
    res.writeHead(problem.status, { 'content-type': 'application/problem+json', connection: 'close' });
    res.end(JSON.stringify(problemDetails(problem, req.url)));
  });
  return server;
}

/**
 * What Node leaves to the app about a request's head: a request target over MAX_URL_BYTES (one
 * under Node's header limit) answers 414; an HTTP/1.1 request without a Host header, 400 (RFC 9112).
 */
export function requestHeadCheck(config: Pick<Config, 'MAX_URL_BYTES'>): RequestHandler {
  return (req, res, next) => {
    if (req.url.length > config.MAX_URL_BYTES) sendProblem(res, uriTooLong(config.MAX_URL_BYTES));
    else if (req.httpVersion === '1.1' && req.headers.host === undefined) {
      res.setHeader('Connection', 'close');
      sendProblem(res, new SchedError('malformed_request', 'an HTTP/1.1 request must carry a Host header'));
    } else next();
  };
}

const uriTooLong = (max: number): SchedError =>
  new SchedError('uri_too_long', `the request target (path and query) is longer than ${max} bytes; send long values in a POST body`);

/** The problem for an error Node's HTTP parser or its timeouts raised on a connection. */
function clientProblem(error: Error & { code?: string; rawPacket?: Buffer }, config: HttpLimitsConfig): SchedError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return requestLineTooLong(error.rawPacket, config.MAX_URL_BYTES)
        ? uriTooLong(config.MAX_URL_BYTES)
        : new SchedError('headers_too_large', `the request line and headers are larger than ${maxHeaderSize} bytes together`);
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new SchedError('request_timeout', `the request was not received within ${config.HTTP_REQUEST_TIMEOUT_MS} ms (headers within ${config.HTTP_HEADERS_TIMEOUT_MS} ms)`);
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new SchedError('payload_too_large', 'the chunk extensions of the request body are too large');
    default:
      return new SchedError('malformed_request', `the request is not valid HTTP/1.1 (${error.code ?? 'parse error'}: ${error.message})`);
  }
}

/**
 * Whether the data the parser gave up on starts with a request line longer than the URL limit.
 * The data is the chunk being parsed, so a request line split across packets reads as headers (431).
 */
function requestLineTooLong(packet: Buffer | undefined, maxUrlBytes: number): boolean {
  if (packet === undefined || !/^[A-Z]+ /.test(packet.subarray(0, 16).toString('latin1'))) return false;
  const lineEnd = packet.indexOf('\r\n');
  return (lineEnd < 0 ? packet.length : lineEnd) > maxUrlBytes;
}

function answerClientError(error: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex, config: HttpLimitsConfig): void {
  // Node's own handler answers only when no response of the connection has started: writing into
  // one would corrupt it. `_httpMessage` is the connection's in-flight response (Node internal).
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  writeProblem(socket, clientProblem(error, config));
}

/**
 * A problem written straight to a connection no response object owns, which is then closed. The
 * close lingers: what the client is still sending is read and dropped for a moment, since closing
 * with unread data resets the connection and the client may lose the answer. The parser is taken
 * off the socket first, so it does not fail again on those bytes.
 */
function writeProblem(socket: Duplex, problem: SchedError): void {
  socket.removeAllListeners('data');
  socket.on('data', () => undefined);
  socket.resume();
  const body = JSON.stringify(problemDetails(problem));
  const head = [
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}`,
    'Content-Type: application/problem+json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  // A client that does not read its answer must not hold the socket.
  setTimeout(() => socket.destroy(), 1000).unref();
}
