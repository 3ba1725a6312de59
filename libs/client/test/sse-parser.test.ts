import { describe, expect, it } from 'vitest';
import { SseParser } from '../src/sse-parser.js';

describe('SseParser', () => {
  it('dispatches an event at the blank line, with its id, name and data', () => {
    const parser = new SseParser();
    expect(parser.push('id: 1\nevent: queued\ndata: {"a":1}\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ id: '1', event: 'queued', data: '{"a":1}', retryMs: undefined }]);
  });

  it('reassembles events split anywhere across chunks, CRLF included', () => {
    const text = 'id: 7\r\nevent: running\r\ndata: {"b":2}\r\n\r\nid: 8\r\ndata: x\r\n\r\n';
    for (let cut = 1; cut < text.length; cut++) {
      const parser = new SseParser();
      const messages = [...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut))];
      expect(messages.map((m) => [m.id, m.event, m.data])).toEqual([
        ['7', 'running', '{"b":2}'],
        ['8', 'message', 'x'],
      ]);
    }
  });

  it('joins multi-line data with newlines and strips only one leading space', () => {
    const parser = new SseParser();
    expect(parser.push('data:a\ndata:  b\ndata\n\n')).toEqual([
      { id: undefined, event: 'message', data: 'a\n b\n', retryMs: undefined },
    ]);
  });

  it('ignores comments, unknown fields and blocks without data, but keeps their id', () => {
    const parser = new SseParser('3');
    const messages = parser.push(': keep-alive\n\nfoo: bar\n\nid: 4\n\ndata: y\n\n');
    expect(messages).toEqual([{ id: '4', event: 'message', data: 'y', retryMs: undefined }]);
  });

  it('carries the id given at construction (Last-Event-ID) until the server sends another', () => {
    const parser = new SseParser('41');
    expect(parser.push('data: z\n\n')[0]?.id).toBe('41');
  });

  it('reads retry only when it is all digits, and ignores an id containing NUL', () => {
    const parser = new SseParser();
    expect(parser.push('retry: 1500\nid: a\0b\ndata: 1\n\nretry: soon\ndata: 2\n\n')).toEqual([
      { id: undefined, event: 'message', data: '1', retryMs: 1500 },
      { id: undefined, event: 'message', data: '2', retryMs: undefined },
    ]);
  });
});
