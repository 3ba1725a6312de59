/**
 * Generated sections of a markdown file: the text between `<!-- bench:NAME -->` and
 * `<!-- /bench:NAME -->` belongs to the generator, everything outside the markers to people.
 */

/** The heading the generated sections go under when a document has none of them yet. */
export const GENERATED_HEADING = '## Per-job overhead (npm run bench)';

export class MarkdownSectionError extends Error {
  constructor(
    readonly section: string,
    readonly problem: string,
  ) {
    super(`section "${section}": ${problem}`);
    this.name = 'MarkdownSectionError';
  }
}

export function sectionMarkers(name: string): { open: string; close: string } {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new MarkdownSectionError(name, 'expected a lower-case name of letters, digits and -');
  return { open: `<!-- bench:${name} -->`, close: `<!-- /bench:${name} -->` };
}

/** Every index at which `needle` starts in `text`. */
function indicesOf(text: string, needle: string): number[] {
  const found: number[] = [];
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) found.push(at);
  return found;
}

/** Where a new section goes: the end of the generated heading's block, the heading added before the first `## ` if missing. */
function insertionPoint(doc: string, heading: string): { doc: string; at: number } {
  const lines = doc.split('\n');
  let headingLine = lines.findIndex((line) => line.trimEnd() === heading);
  if (headingLine === -1) {
    const firstH2 = lines.findIndex((line) => line.startsWith('## '));
    const before = firstH2 === -1 ? lines.length : firstH2;
    lines.splice(before, 0, heading, '');
    headingLine = before;
  }
  const next = lines.findIndex((line, i) => i > headingLine && line.startsWith('## '));
  const end = next === -1 ? lines.length : next;
  const head = lines.slice(0, end).join('\n');
  return { doc: lines.join('\n'), at: head.length };
}

/**
 * Puts `body` between the markers of section `name`: in place when the markers exist (the text
 * outside them left byte for byte), else as a new marked section at the end of `heading`'s block
 * (the heading itself added before the document's first `## ` when missing).
 * Throws a MarkdownSectionError when the markers are unpaired, repeated or out of order.
 */
export function replaceMarkedSection(doc: string, name: string, body: string, heading = GENERATED_HEADING): string {
  const { open, close } = sectionMarkers(name);
  const opens = indicesOf(doc, open);
  const closes = indicesOf(doc, close);
  const content = `${open}\n${body.trim()}\n${close}`;
  if (opens.length === 0 && closes.length === 0) {
    const { doc: withHeading, at } = insertionPoint(doc, heading);
    const head = withHeading.slice(0, at).replace(/\n*$/, '');
    const tail = withHeading.slice(at).replace(/^\n*/, '');
    return `${head}\n\n${content}\n${tail === '' ? '' : `\n${tail}`}`;
  }
  if (opens.length !== 1 || closes.length !== 1) throw new MarkdownSectionError(name, `expected one ${open} and one ${close}, found ${opens.length} and ${closes.length}`);
  const [start, end] = [opens[0] as number, closes[0] as number];
  if (end < start) throw new MarkdownSectionError(name, `${close} comes before ${open}`);
  return `${doc.slice(0, start)}${content}${doc.slice(end + close.length)}`;
}
