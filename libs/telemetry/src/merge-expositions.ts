interface Family {
  help: string | undefined;
  type: string | undefined;
  samples: string[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

/**
 * Joins Prometheus text expositions into one, with each family's HELP and TYPE
 * once. BullMQ's `exportPrometheusMetrics` answers per queue, each with its own
 * HELP/TYPE lines; concatenating those repeats them and breaks the scrape.
 */
export function mergeExpositions(texts: readonly string[]): string {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (f === undefined) families.set(name, (f = { help: undefined, type: undefined, samples: [] }));
    return f;
  };
  for (const text of texts) {
    for (const line of text.split('\n')) {
      if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
        const name = line.split(' ')[2] ?? '';
        const f = family(name);
        if (line.startsWith('# HELP ')) f.help ??= line;
        else f.type ??= line;
      } else if (line.trim() !== '' && !line.startsWith('#')) {
        // BullMQ writes `{queue="a", state="b"}`; the exposition format has no space after the comma.
        family(METRIC_NAME.exec(line)?.[0] ?? '').samples.push(line.replace(/", /g, '",'));
      }
    }
  }
  const out: string[] = [];
  for (const f of families.values()) {
    if (f.help !== undefined) out.push(f.help);
    if (f.type !== undefined) out.push(f.type);
    out.push(...f.samples);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
