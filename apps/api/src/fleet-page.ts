import { htmlPage } from './html-page.js';

/** The live fleet page at `/`: one static document, no build step; it follows `/v1/fleet/stream` (SSE). */
export const FLEET_PAGE = htmlPage({
  title: 'Scheduler fleet',
  head: `<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1f2328; background: #f6f8fa; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  .sub { color: #59636e; margin-bottom: 16px; }
  .cards { display: flex; gap: 12px; margin-bottom: 16px; }
  .card { background: #fff; border: 1px solid #d1d9e0; border-radius: 8px; padding: 12px 16px; min-width: 150px; }
  .card b { display: block; font-size: 24px; }
  table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid #d1d9e0; }
  th, td { padding: 6px 10px; border-bottom: 1px solid #eef1f4; text-align: right; white-space: nowrap; }
  th:first-child, td:first-child, td.text, th.text { text-align: left; }
  th { background: #f0f3f6; font-weight: 600; }
  .live { color: #1a7f37; } .draining { color: #9a6700; } .down { color: #cf222e; font-weight: 600; }
  .bar { display: inline-block; height: 8px; background: #0969da; border-radius: 4px; vertical-align: middle; }
  #status { color: #59636e; }
</style>`,
  body: `<h1>Scheduler fleet</h1>
<div class="sub">Live from <code>/v1/fleet/stream</code> · <span id="status">connecting…</span> · <a href="/admin/queues">queues</a> · <a href="/metrics">metrics</a></div>
<div class="cards">
  <div class="card">throughput, last minute<b id="throughput">–</b>jobs/s</div>
  <div class="card">p99 latency, last minute<b id="p99">–</b>ms</div>
  <div class="card">jobs, last minute<b id="jobs">–</b></div>
  <div class="card">workers live<b id="live">–</b></div>
</div>
<table>
  <thead><tr><th class="text">worker</th><th class="text">class</th><th class="text">state</th><th>slots</th><th>busy</th><th>depth</th><th>heartbeat age</th><th class="text">observed service</th><th>routing share</th></tr></thead>
  <tbody id="workers"></tbody>
</table>
<script>
  const fmt = (n, d = 1) => (n === null || n === undefined ? '–' : Number(n).toFixed(d));
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
  function render(snapshot) {
    document.getElementById('throughput').textContent = fmt(snapshot.recent.throughputPerS);
    document.getElementById('p99').textContent = fmt(snapshot.recent.p99Ms, 0);
    document.getElementById('jobs').textContent = snapshot.recent.jobs;
    document.getElementById('live').textContent = snapshot.workers.filter((w) => w.state === 'live').length + ' / ' + snapshot.workers.length;
    document.getElementById('workers').innerHTML = snapshot.workers.map((w) => {
      const share = snapshot.recent.shareByWorker[w.id] || 0;
      const service = Object.entries(w.serviceMs).map(([m, ms]) => esc(m) + ' ' + fmt(ms, 0) + ' ms').join(', ') || '–';
      return '<tr data-worker="' + esc(w.id) + '"><td>' + esc(w.id) + '</td><td class="text">' + esc(w.class ?? '–') + '</td>' +
        '<td class="text ' + esc(w.state) + '">' + esc(w.state) + '</td><td>' + (w.slots ?? '–') + '</td><td class="busy">' + w.busy + '</td>' +
        '<td class="depth">' + w.depth + '</td><td>' + fmt(w.heartbeatAgeMs / 1000) + ' s</td><td class="text">' + service + '</td>' +
        '<td class="share"><span class="bar" style="width:' + Math.round(share * 80) + 'px"></span> ' + fmt(share * 100, 0) + ' %</td></tr>';
    }).join('');
  }
  const source = new EventSource('/v1/fleet/stream');
  source.addEventListener('fleet', (event) => {
    document.getElementById('status').textContent = 'updated ' + new Date().toLocaleTimeString();
    render(JSON.parse(event.data));
  });
  source.onerror = () => { document.getElementById('status').textContent = 'reconnecting…'; };
</script>`,
});
