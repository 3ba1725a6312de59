export interface SweepSeries {
  readonly policy: string;
  /** [load, p99 ms] pairs in load order. */
  readonly points: readonly (readonly [number, number])[];
}

const WIDTH = 760;
const HEIGHT = 440;
const MARGIN = { left: 70, right: 150, top: 30, bottom: 50 };
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);
}

/**
 * p99 latency against load, one line per policy, on a log-scale y axis
 * (latencies span orders of magnitude between policies near saturation).
 */
export function renderSweepSvg(series: readonly SweepSeries[], title: string): string {
  const values = series.flatMap((s) => s.points.map(([, p99]) => p99)).filter((v) => v > 0);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...values, 1))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values, 10))));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (load: number): number => MARGIN.left + load * plotW;
  const y = (ms: number): number =>
    MARGIN.top + plotH - ((Math.log10(Math.max(ms, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="18" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
  ];
  for (let decade = lo; decade <= hi; decade *= 10) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(decade)}" y2="${y(decade)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 6}" y="${y(decade) + 4}" text-anchor="end">${decade >= 1000 ? `${decade / 1000} s` : `${decade} ms`}</text>`,
    );
  }
  for (let tick = 0; tick <= 10; tick++) {
    const load = tick / 10;
    parts.push(
      `<line x1="${x(load)}" x2="${x(load)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`,
      `<text x="${x(load)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${load.toFixed(1)}</text>`,
    );
  }
  parts.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">load (fraction of fleet capacity)</text>`,
    `<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">p99 latency (log)</text>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
  );
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length] as string;
    const path = s.points.map(([load, p99]) => `${x(load).toFixed(1)},${y(p99).toFixed(1)}`).join(' ');
    const legendY = MARGIN.top + 10 + i * 18;
    parts.push(
      `<polyline points="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`,
      ...s.points.map(([load, p99]) => `<circle cx="${x(load).toFixed(1)}" cy="${y(p99).toFixed(1)}" r="2.5" fill="${colour}"/>`),
      `<line x1="${WIDTH - MARGIN.right + 12}" x2="${WIDTH - MARGIN.right + 32}" y1="${legendY}" y2="${legendY}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${WIDTH - MARGIN.right + 38}" y="${legendY + 4}">${escapeXml(s.policy)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
