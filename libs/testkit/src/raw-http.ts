import { connect } from 'node:net';

export interface RawResponse {
  readonly status: number;
  /** Header names in lower case; a repeated header keeps its last value. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Sends `request` as raw bytes (a request line and headers no HTTP client would send) and reads
 * one response: up to its Content-Length, or to the end of the connection. Rejects when nothing
 * complete arrives within `timeoutMs`.
 */
export function rawRequest(port: number, request: string | Buffer, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      const response = parseResponse(Buffer.concat(chunks));
      if (response === null && error === undefined && !socket.destroyed) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (response !== null) resolve(response);
      else reject(error ?? new Error(`connection closed without a complete response: ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 200))}`));
    };
    const timer = setTimeout(() => finish(new Error(`no complete response within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      finish();
    });
    // The server may answer and close before it has read all we sent (a 431 mid-headers): a reset then is not a failure.
    socket.on('error', () => finish());
    socket.on('close', () => finish());
    socket.write(request);
  });
}

function parseResponse(data: Buffer): RawResponse | null {
  // An interim answer (100 Continue) comes before the response.
  while (/^HTTP\/1\.[01] 1\d\d /.test(data.subarray(0, 13).toString('latin1')) && data.includes('\r\n\r\n')) data = data.subarray(data.indexOf('\r\n\r\n') + 4);
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = data.subarray(end + 4);
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  if (length !== undefined && body.length < length) return null;
  if (length === undefined && headers['transfer-encoding'] === 'chunked') {
    const decoded = dechunk(body);
    return decoded === null ? null : { status, headers, body: decoded.toString('utf8') };
  }
  return { status, headers, body: body.subarray(0, length ?? body.length).toString('utf8') };
}

/** A chunked body once its last chunk has arrived; null before. */
function dechunk(data: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) return null;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size)) return null;
    if (size === 0) return Buffer.concat(parts);
    if (data.length < lineEnd + 2 + size + 2) return null;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}
