import { describe, expect, it } from 'vitest';
import { GENERATED_HEADING, MarkdownSectionError, replaceMarkedSection, sectionMarkers } from '../markdown-sections.js';

const DOC = ['# Benchmarks', '', 'Machine notes.', '', '## Core pipeline', '', 'Old text.', ''].join('\n');

describe('replaceMarkedSection', () => {
  it('adds the generated heading before the first ## heading and the marked section under it', () => {
    const out = replaceMarkedSection(DOC, 'throughput', '| a |\n|---|');
    expect(out).toBe(
      ['# Benchmarks', '', 'Machine notes.', '', GENERATED_HEADING, '', '<!-- bench:throughput -->', '| a |', '|---|', '<!-- /bench:throughput -->', '', '## Core pipeline', '', 'Old text.', ''].join('\n'),
    );
  });

  it('appends a second new section after the first, at the end of the heading block', () => {
    const once = replaceMarkedSection(DOC, 'throughput', 'T');
    const twice = replaceMarkedSection(once, 'http-ratio', 'H');
    expect(twice.indexOf('<!-- /bench:throughput -->')).toBeLessThan(twice.indexOf('<!-- bench:http-ratio -->'));
    expect(twice.indexOf('<!-- /bench:http-ratio -->')).toBeLessThan(twice.indexOf('## Core pipeline'));
    expect(twice.split(GENERATED_HEADING)).toHaveLength(2);
  });

  it('replaces only the text between existing markers, leaving every byte outside them alone', () => {
    const before = 'intro  \n\ttabs\n<!-- bench:x -->\nold\nrows\n<!-- /bench:x -->\ntrailing  text\n\n\n';
    const out = replaceMarkedSection(before, 'x', '\n\nnew\n\n');
    expect(out).toBe('intro  \n\ttabs\n<!-- bench:x -->\nnew\n<!-- /bench:x -->\ntrailing  text\n\n\n');
  });

  it('is idempotent: the same body twice gives the same document', () => {
    const once = replaceMarkedSection(DOC, 'added-latency', 'body');
    expect(replaceMarkedSection(once, 'added-latency', 'body')).toBe(once);
  });

  it('adds under an existing generated heading even when it is not the first section', () => {
    const doc = `# B\n\n## First\n\nx\n\n${GENERATED_HEADING}\n\nhand-written\n\n## Last\n`;
    const out = replaceMarkedSection(doc, 'throughput', 'T');
    expect(out).toBe(`# B\n\n## First\n\nx\n\n${GENERATED_HEADING}\n\nhand-written\n\n<!-- bench:throughput -->\nT\n<!-- /bench:throughput -->\n\n## Last\n`);
  });

  it('refuses unpaired, repeated or reversed markers', () => {
    const { open, close } = sectionMarkers('x');
    expect(() => replaceMarkedSection(`${open}\n`, 'x', 'b')).toThrow(MarkdownSectionError);
    expect(() => replaceMarkedSection(`${open}${close}${open}${close}`, 'x', 'b')).toThrow(/one <!-- bench:x -->/);
    expect(() => replaceMarkedSection(`${close}\n${open}`, 'x', 'b')).toThrow(/comes before/);
  });

  it('does not take one section name for a prefix of another', () => {
    const doc = replaceMarkedSection(DOC, 'throughput-raw', 'R');
    const out = replaceMarkedSection(doc, 'throughput', 'T');
    expect(out).toContain('<!-- bench:throughput-raw -->\nR\n<!-- /bench:throughput-raw -->');
    expect(out).toContain('<!-- bench:throughput -->\nT\n<!-- /bench:throughput -->');
  });
});
