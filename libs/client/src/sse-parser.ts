/** One dispatched server-sent event, as the EventSource spec defines it. */
export interface SseMessage {
  /** The last event id seen on the stream (ids persist across events until changed). */
  id: string | undefined;
  /** `event:` field; "message" when the server sent none. */
  event: string;
  /** `data:` lines joined with "\n". */
  data: string;
  /** `retry:` reconnection time in ms, when the server sent one with this event. */
  retryMs: number | undefined;
}

/**
 * Incremental parser of a `text/event-stream` body: feed it text chunks as they
 * arrive (split anywhere, even inside a line or a CRLF), get complete events back.
 */
export class SseParser {
  private buffer = '';
  private lastEventId: string | undefined;
  private eventType = '';
  private dataLines: string[] = [];
  private retryMs: number | undefined;

  constructor(lastEventId?: string) {
    this.lastEventId = lastEventId;
  }

  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const messages: SseMessage[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (match === null) break;
      // A lone CR at the end of a chunk may be the first half of a CRLF: wait for more.
      if (match[0] === '\r' && match.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const message = this.processLine(line);
      if (message !== undefined) messages.push(message);
    }
    return messages;
  }

  private processLine(line: string): SseMessage | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.dataLines.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        return undefined;
    }
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    const hasData = this.dataLines.length > 0;
    const message: SseMessage = {
      id: this.lastEventId,
      event: this.eventType === '' ? 'message' : this.eventType,
      data: this.dataLines.join('\n'),
      retryMs: this.retryMs,
    };
    this.eventType = '';
    this.dataLines = [];
    this.retryMs = undefined;
    // The spec dispatches only events with data; an id-only block just moves the id.
    return hasData ? message : undefined;
  }
}
