// Scraper of bench/live/soak.sh: run in the namespace of `tcpsleuth live --metrics`.
//
//   node bench/live/soak.mjs --url URL --pid PID --seconds N --start-ms MS --out PREFIX
//        [--flat-from S] [--hz 100] [--rate R] [--gen FILE] [--report FILE]
//
// Every second (on the second, from its start) it GETs URL with fetch and times it until
// the body is read, parses the Prometheus text, and reads /proc/PID/status (VmRSS) and
// /proc/PID/stat (CPU time) as a cross-check. Each sample is appended to PREFIX.csv as
// it is taken; at the end (PID gone) PREFIX.json holds the run, its summary and every
// sample, and the summary is printed. Times are seconds since --start-ms (epoch ms:
// when tcpsleuth said it was listening). It stops scraping half a second before
// --seconds, then waits for PID to exit; a scrape that fails after that is not counted.
// --gen: the traffic generator's JSON stats; --report: tcpsleuth's JSON Lines output
// (its last line, the report, is summarised).
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    url: { type: 'string' },
    pid: { type: 'string' },
    seconds: { type: 'string' },
    'start-ms': { type: 'string' },
    out: { type: 'string' },
    'flat-from': { type: 'string' },
    hz: { type: 'string', default: '100' },
    rate: { type: 'string' },
    gen: { type: 'string' },
    report: { type: 'string' },
    timeout: { type: 'string', default: '5000' },
  },
});
for (const k of ['url', 'pid', 'seconds', 'start-ms', 'out']) {
  if (a[k] === undefined) {
    process.stderr.write(`soak.mjs: --${k} is required\n`);
    process.exit(2);
  }
}
const URL_ = a.url;
const PID = Number(a.pid);
const SECONDS = Number(a.seconds);
const START_MS = Number(a['start-ms']);
const HZ = Number(a.hz);
const TIMEOUT_MS = Number(a.timeout);
const FLAT_FROM = a['flat-from'] !== undefined ? Number(a['flat-from']) : SECONDS >= 240 ? 120 : 80;
const MIB = 1024 * 1024;

const elapsed = () => (Date.now() - START_MS) / 1000;
const alive = () => existsSync(`/proc/${PID}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Prometheus text exposition -> [{name, labels, value}]. */
function parseProm(text) {
  const out = [];
  const line = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/;
  const label = /(\w+)="((?:[^"\\]|\\.)*)"/g;
  for (const l of text.split('\n')) {
    if (l === '' || l.startsWith('#')) continue;
    const m = line.exec(l);
    if (!m) continue;
    const labels = {};
    if (m[2]) for (const x of m[2].matchAll(label)) labels[x[1]] = x[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

function procRssBytes() {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${PID}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** utime + stime of PID, seconds. */
function procCpuSeconds() {
  try {
    const s = readFileSync(`/proc/${PID}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / HZ; // fields 14 and 15
  } catch {
    return null;
  }
}

/** One sample's figures from the parsed metrics. */
function figures(ms) {
  const one = (name) => ms.find((x) => x.name === name)?.value ?? null;
  const by = (name, key) => {
    const r = {};
    for (const x of ms) if (x.name === name) r[x.labels[key]] = (r[x.labels[key]] ?? 0) + x.value;
    return r;
  };
  const findings = {};
  for (const x of ms) if (x.name === 'tcpsleuth_findings_total') findings[`${x.labels.kind}/${x.labels.severity}`] = x.value;
  return {
    rss: one('process_resident_memory_bytes'),
    heapUsed: one('nodejs_heap_size_used_bytes'),
    heapTotal: one('nodejs_heap_size_total_bytes'),
    external: one('nodejs_external_memory_bytes'),
    tracked: one('tcpsleuth_connections_tracked'),
    opened: one('tcpsleuth_connections_opened_total'),
    closed: by('tcpsleuth_connections_closed_total', 'conn_state'),
    endpoints: by('tcpsleuth_endpoints', 'state'),
    received: one('tcpsleuth_packets_received_total'),
    analysed: one('tcpsleuth_packets_analysed_total'),
    dropped: by('tcpsleuth_packets_dropped_total', 'by'),
    findings,
    lagP99: one('nodejs_eventloop_lag_p99_seconds'),
  };
}

const CSV_COLUMNS = [
  't', 'ok', 'latency_ms', 'rss_mib', 'vmrss_mib', 'heap_used_mib', 'heap_total_mib', 'external_mib', 'tracked', 'opened',
  'closed_total', 'received', 'analysed', 'drop_kernel', 'drop_interface', 'drop_queue', 'findings', 'time_wait', 'close_wait',
  'cpu_s', 'eventloop_lag_p99_ms',
];
const sum = (o) => Object.values(o ?? {}).reduce((s, v) => s + v, 0);
const mib = (b) => (b === null || b === undefined ? '' : (b / MIB).toFixed(2));
function csvRow(s) {
  const f = s.f ?? {};
  return [
    s.t.toFixed(3), s.ok ? 1 : 0, s.latencyMs.toFixed(2), mib(f.rss), mib(s.vmRss), mib(f.heapUsed), mib(f.heapTotal), mib(f.external),
    f.tracked ?? '', f.opened ?? '', s.ok ? sum(f.closed) : '', f.received ?? '', f.analysed ?? '', f.dropped?.kernel ?? '',
    f.dropped?.interface ?? '', f.dropped?.queue ?? '', s.ok ? sum(f.findings) : '', f.endpoints?.['TIME-WAIT'] ?? (s.ok ? 0 : ''),
    f.endpoints?.['CLOSE-WAIT'] ?? (s.ok ? 0 : ''), s.cpu === null ? '' : s.cpu.toFixed(2), f.lagP99 == null ? '' : (f.lagP99 * 1000).toFixed(2),
  ].join(',');
}

const csvPath = `${a.out}.csv`;
const jsonPath = `${a.out}.json`;
writeFileSync(csvPath, `${CSV_COLUMNS.join(',')}\n`);

const samples = [];
let lateSlots = 0;
let firstText = null;

async function scrape() {
  const t = elapsed();
  const t0 = performance.now();
  let ok = false;
  let f = null;
  let error = null;
  try {
    const res = await fetch(URL_, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    firstText ??= text;
    f = figures(parseProm(text));
    ok = true;
  } catch (e) {
    error = e instanceof Error ? `${e.name}: ${e.message}${e.cause ? ` (${e.cause.code ?? e.cause.message ?? e.cause})` : ''}` : String(e);
  }
  const latencyMs = performance.now() - t0;
  const s = { t, ok, latencyMs, f, vmRss: procRssBytes(), cpu: procCpuSeconds(), error };
  return s;
}

function progress(s) {
  const f = s.f;
  if (!s.ok) return `soak: ${s.t.toFixed(0)} s: scrape failed after ${s.latencyMs.toFixed(1)} ms: ${s.error}`;
  return (
    `soak: ${(s.t / 60).toFixed(1).padStart(4)} min  RSS ${mib(f.rss)} MiB (VmRSS ${mib(s.vmRss)})  heap ${mib(f.heapUsed)} MiB  ` +
    `tracked ${f.tracked}  opened ${f.opened}  received ${f.received}  drops k/i/q ${f.dropped.kernel ?? '-'}/${f.dropped.interface ?? '-'}/${f.dropped.queue ?? '-'}  ` +
    `scrape ${s.latencyMs.toFixed(1)} ms`
  );
}

// ---- the loop: a scrape on each second after our start, skipping slots a slow scrape overran.
const deadline = SECONDS - 0.5;
const base = Date.now();
let slot = 0;
let lastProgressMin = -1;
while (elapsed() < deadline && alive()) {
  const s = await scrape();
  if (!s.ok && !alive()) break; // it ended under us: not a failed scrape
  samples.push(s);
  appendFileSync(csvPath, `${csvRow(s)}\n`);
  if (!s.ok) process.stderr.write(`${progress(s)}\n`);
  const min = Math.floor(s.t / 60);
  if (s.ok && min !== lastProgressMin) {
    lastProgressMin = min;
    process.stderr.write(`${progress(s)}\n`);
  }
  slot++;
  let next = base + slot * 1000;
  while (next <= Date.now()) {
    slot++;
    lateSlots++;
    next = base + slot * 1000;
  }
  await sleep(next - Date.now());
}
if (firstText !== null) writeFileSync(`${a.out}.first.prom`, firstText);

// ---- wait for tcpsleuth to write its report and exit.
const waitStart = Date.now();
while (alive() && Date.now() - waitStart < 300_000) await sleep(200);
const exitWaitS = (Date.now() - waitStart) / 1000;

// ---- summary
const good = samples.filter((s) => s.ok);
const last = good[good.length - 1];
const runS = last ? last.t : 0;
/** The good sample nearest to time t (seconds). */
const at = (t) => good.reduce((b, s) => (b === null || Math.abs(s.t - t) < Math.abs(b.t - t) ? s : b), null);
const pct = (xs, p) => {
  if (xs.length === 0) return null;
  const v = [...xs].sort((x, y) => x - y);
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
};
const mean = (xs) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null);
/** Least-squares slope of y over t, per second. */
function slope(pts) {
  if (pts.length < 2) return null;
  const mt = mean(pts.map((p) => p[0]));
  const my = mean(pts.map((p) => p[1]));
  let num = 0;
  let den = 0;
  for (const [t, y] of pts) {
    num += (t - mt) * (y - my);
    den += (t - mt) ** 2;
  }
  return den === 0 ? null : num / den;
}

const points = [0.1, 0.5, 1].map((frac) => {
  const s = at(frac * SECONDS);
  return s && { frac, t: s.t, rss: s.f.rss, vmRss: s.vmRss, heapUsed: s.f.heapUsed, heapTotal: s.f.heapTotal, tracked: s.f.tracked, timeWait: s.f.endpoints['TIME-WAIT'] ?? 0, closeWait: s.f.endpoints['CLOSE-WAIT'] ?? 0 };
});
const maxRss = good.reduce((b, s) => (b === null || s.f.rss > b.f.rss ? s : b), null);
const maxHeap = good.reduce((b, s) => (b === null || s.f.heapUsed > b.f.heapUsed ? s : b), null);
const maxTracked = good.reduce((b, s) => (b === null || s.f.tracked > b.f.tracked ? s : b), null);

/** Growth of a series over [FLAT_FROM, end]: mean of its first and last stretch, and the trend. */
function growth(get) {
  const w = good.filter((s) => s.t >= FLAT_FROM && get(s) !== null);
  if (w.length < 6) return null;
  const span = w[w.length - 1].t - w[0].t;
  const stretch = Math.min(60, span / 3);
  const first = mean(w.filter((s) => s.t <= w[0].t + stretch).map(get));
  const lastM = mean(w.filter((s) => s.t >= w[w.length - 1].t - stretch).map(get));
  const k = slope(w.map((s) => [s.t, get(s)]));
  const vals = w.map(get);
  return {
    from: w[0].t,
    to: w[w.length - 1].t,
    stretch,
    atStart: get(w[0]),
    atEnd: get(w[w.length - 1]),
    firstMean: first,
    lastMean: lastM,
    growth: lastM - first,
    growthPct: ((lastM - first) / first) * 100,
    slopePerMin: k === null ? null : k * 60,
    trendOverWindow: k === null ? null : k * span,
    min: Math.min(...vals),
    max: Math.max(...vals),
  };
}
const rssGrowth = growth((s) => s.f.rss);
const heapGrowth = growth((s) => s.f.heapUsed);
const trackedGrowth = growth((s) => s.f.tracked);
const FLAT_PCT = 5;
const flat = rssGrowth !== null && rssGrowth.growthPct < FLAT_PCT && (rssGrowth.trendOverWindow / rssGrowth.firstMean) * 100 < FLAT_PCT;

// What the process keeps, as opposed to garbage V8 has not yet collected: the heap in use
// right after each full collection (a sample at least 15% below the one before). V8 lets
// the heap grow to twice what its last full collection kept, so the samples are a sawtooth
// of minutes, and RSS follows the heap V8 has committed, which it gives back only at some
// full collections. It can be flat only once every bound has filled: the list
// (--max-listed, 10,000) and the forgotten tuples whose Wireshark stream numbers are kept
// (65,536), so from the moment that many connections have closed. Flat: the median of the
// after-collection heap in the second half of that window within 5% of the first half's,
// and so the RSS peak.
const BOUNDS = 10_000 + 65_536;
const filledAt = good.find((s) => sum(s.f.closed) >= BOUNDS)?.t ?? null;
const retainedFrom = Math.max(FLAT_FROM, filledAt ?? Infinity);
const lastT = good.length ? good[good.length - 1].t : 0;
const half = (retainedFrom + lastT) / 2;
const afterGc = good.filter((s, i) => i > 0 && s.t >= retainedFrom && s.f.heapUsed < 0.85 * good[i - 1].f.heapUsed);
const median = (xs) => {
  const v = [...xs].sort((x, y) => x - y);
  return v.length ? v[Math.floor(v.length / 2)] : null;
};
const kept1 = median(afterGc.filter((s) => s.t < half).map((s) => s.f.heapUsed));
const kept2 = median(afterGc.filter((s) => s.t >= half).map((s) => s.f.heapUsed));
const heapRetained = kept1 !== null && kept2 !== null ? { first: kept1, second: kept2, pct: ((kept2 - kept1) / kept1) * 100 } : null;
const peak = (from, to) => Math.max(...good.filter((s) => s.t >= from && s.t < to).map((s) => s.f.rss));
const rssPeaks = heapRetained ? { first: peak(retainedFrom, half), second: peak(half, lastT + 1), pct: 0 } : null;
if (rssPeaks) rssPeaks.pct = ((rssPeaks.second - rssPeaks.first) / rssPeaks.first) * 100;
const retainedFlat = heapRetained !== null && rssPeaks !== null && heapRetained.pct < FLAT_PCT && rssPeaks.pct < FLAT_PCT;

const lat = samples.map((s) => s.latencyMs);
const okLat = good.map((s) => s.latencyMs);
const failed = samples.filter((s) => !s.ok);
const firstGood = good[0];
const inWindow = good.filter((s) => s.t >= FLAT_FROM);
const steadyRate = inWindow.length >= 2 ? (inWindow[inWindow.length - 1].f.opened - inWindow[0].f.opened) / (inWindow[inWindow.length - 1].t - inWindow[0].t) : null;
const cpuS = last && firstGood && last.cpu !== null && firstGood.cpu !== null ? last.cpu - firstGood.cpu : null;
const rssDiff = good.filter((s) => s.vmRss !== null).map((s) => Math.abs(s.f.rss - s.vmRss));
const lagP99 = good.map((s) => s.f.lagP99).filter((x) => x !== null);

let gen = null;
if (a.gen && existsSync(a.gen)) {
  try {
    gen = JSON.parse(readFileSync(a.gen, 'utf8'));
  } catch {
    gen = null;
  }
}
let report = null;
if (a.report && existsSync(a.report)) {
  try {
    const buf = readFileSync(a.report);
    let end = buf.length;
    while (end > 0 && buf[end - 1] === 10) end--;
    const startI = buf.lastIndexOf(10, end - 1) + 1;
    const r = JSON.parse(buf.subarray(startI, end).toString('utf8'));
    if (r.type === 'report') {
      const byKind = {};
      for (const x of r.findings) byKind[x.kind] = (byKind[x.kind] ?? 0) + 1;
      report = { bytes: buf.length, live: r.live, tracking: r.tracking, connections: r.connections?.length ?? null, findings: r.findings.length, findingsByKind: byKind };
    }
  } catch (e) {
    report = { error: e instanceof Error ? e.message : String(e) };
  }
}

const summary = {
  flatFrom: FLAT_FROM,
  points,
  maxRss: maxRss && { t: maxRss.t, rss: maxRss.f.rss },
  maxHeapUsed: maxHeap && { t: maxHeap.t, heapUsed: maxHeap.f.heapUsed },
  maxTracked: maxTracked && { t: maxTracked.t, tracked: maxTracked.f.tracked },
  opened: last?.f.opened ?? null,
  openedPerSecond: last ? last.f.opened / last.t : null,
  openedPerSecondSteady: steadyRate,
  closed: last?.f.closed ?? null,
  received: last?.f.received ?? null,
  analysed: last?.f.analysed ?? null,
  dropped: last?.f.dropped ?? null,
  findings: last?.f.findings ?? null,
  endpointsAtEnd: last?.f.endpoints ?? null,
  scrapes: samples.length,
  failedScrapes: failed.length,
  failures: failed.map((s) => ({ t: s.t, latencyMs: s.latencyMs, error: s.error })),
  lateSlots,
  latencyMs: { p50: pct(okLat, 50), p90: pct(okLat, 90), p99: pct(okLat, 99), max: lat.length ? Math.max(...lat) : null, mean: mean(okLat), over100: okLat.filter((x) => x > 100).length, over1000: okLat.filter((x) => x > 1000).length },
  rssVsVmRssMaxDiff: rssDiff.length ? Math.max(...rssDiff) : null,
  cpuSeconds: cpuS,
  cpuPercent: cpuS !== null ? (cpuS / (last.t - firstGood.t)) * 100 : null,
  eventLoopLagP99Ms: lagP99.length ? { median: pct(lagP99, 50) * 1000, max: Math.max(...lagP99) * 1000 } : null,
  rssGrowth,
  heapGrowth,
  trackedGrowth,
  flatThresholdPct: FLAT_PCT,
  boundsFilledAt: filledAt,
  retained: { from: retainedFrom, afterCollections: afterGc.map((s) => [s.t, s.f.heapUsed]), heapRetained, rssPeaks, flat: retainedFlat },
  flat,
  exitWaitSeconds: exitWaitS,
  generator: gen,
  report,
};
writeFileSync(
  jsonPath,
  JSON.stringify({
    run: { url: URL_, pid: PID, seconds: SECONDS, startMs: START_MS, rate: a.rate ? Number(a.rate) : null, flatFrom: FLAT_FROM, csv: csvPath },
    summary,
    samples: samples.map((s) => ({ t: s.t, ok: s.ok, latencyMs: s.latencyMs, vmRss: s.vmRss, cpu: s.cpu, error: s.error, ...(s.f ?? {}) })),
  }),
);

// ---- print
const M = (b) => (b === null || b === undefined ? '-' : `${(b / MIB).toFixed(1)}`);
const f1 = (x, d = 1) => (x === null || x === undefined ? '-' : x.toFixed(d));
const minute = (t) => `${(t / 60).toFixed(2)} min`;
const kv = (o) => Object.entries(o ?? {}).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v}`).join(', ') || '-';
const L = [];
L.push('');
L.push(`== tcpsleuth live soak: ${(SECONDS / 60).toFixed(1)} min${a.rate ? `, ${a.rate} connections/s asked` : ''}; ${good.length} good samples, last at ${minute(runS)} ==`);
L.push('                       ' + points.map((p) => (p ? `${minute(p.t)} (${p.frac * 100}%)`.padStart(20) : '-'.padStart(20))).join(''));
const row = (name, get) => L.push(name.padEnd(23) + points.map((p) => (p ? get(p) : '-').padStart(20)).join(''));
row('RSS (MiB)', (p) => M(p.rss));
row('  /proc VmRSS (MiB)', (p) => M(p.vmRss));
row('heap used (MiB)', (p) => M(p.heapUsed));
row('heap total (MiB)', (p) => M(p.heapTotal));
row('connections tracked', (p) => String(p.tracked));
row('  TIME-WAIT endpoints', (p) => String(p.timeWait));
row('  CLOSE-WAIT endpoints', (p) => String(p.closeWait));
if (maxRss) L.push(`RSS max: ${M(maxRss.f.rss)} MiB at ${minute(maxRss.t)}; heap used max ${M(maxHeap.f.heapUsed)} MiB at ${minute(maxHeap.t)}; tracked max ${maxTracked.f.tracked} at ${minute(maxTracked.t)}`);
L.push(`connections opened: ${summary.opened} (${f1(summary.openedPerSecond)}/s over the run, ${f1(steadyRate)}/s from ${FLAT_FROM} s)`);
L.push(`connections closed by conn_state: ${kv(summary.closed)} (total ${sum(summary.closed)})`);
L.push(`packets received: ${summary.received}, analysed: ${summary.analysed}`);
L.push(`drops: kernel ${summary.dropped?.kernel ?? 'n/a'}, interface ${summary.dropped?.interface ?? 'n/a'}, queue ${summary.dropped?.queue ?? 'n/a'}`);
L.push(`findings: ${kv(summary.findings)}`);
L.push(
  `scrapes: ${samples.length}, failed ${failed.length}, slots skipped (a scrape overran its second) ${lateSlots}; latency p50 ${f1(summary.latencyMs.p50, 2)} ms, p90 ${f1(summary.latencyMs.p90, 2)} ms, p99 ${f1(summary.latencyMs.p99, 2)} ms, max ${f1(summary.latencyMs.max, 2)} ms (${summary.latencyMs.over100} over 100 ms)`,
);
for (const x of failed.slice(0, 5)) L.push(`  failed at ${x.t.toFixed(1)} s after ${x.latencyMs.toFixed(0)} ms: ${x.error}`);
L.push(`event loop lag p99 (prom-client): median ${f1(summary.eventLoopLagP99Ms?.median, 2)} ms, max ${f1(summary.eventLoopLagP99Ms?.max, 2)} ms; tcpsleuth CPU ${f1(cpuS)} s (${f1(summary.cpuPercent)}% of one core); metrics RSS vs /proc VmRSS differ by at most ${M(summary.rssVsVmRssMaxDiff)} MiB`);
const g = (name, x, unit = (v) => `${M(v)} MiB`) =>
  x === null
    ? `${name}: too few samples after ${FLAT_FROM} s`
    : `${name} from ${minute(x.from)} to ${minute(x.to)}: ${unit(x.atStart)} -> ${unit(x.atEnd)}; mean of the first ${x.stretch.toFixed(0)} s ${unit(x.firstMean)}, of the last ${unit(x.lastMean)}: ` +
      `${x.growth >= 0 ? '+' : ''}${unit(x.growth)} (${x.growthPct >= 0 ? '+' : ''}${x.growthPct.toFixed(1)}%); trend ${x.slopePerMin >= 0 ? '+' : ''}${unit(x.slopePerMin)}/min; range ${unit(x.min)} .. ${unit(x.max)}`;
L.push(g('RSS', rssGrowth));
L.push(g('heap used', heapGrowth));
L.push(g('connections tracked', trackedGrowth, (v) => `${v.toFixed(0)}`));
if (rssGrowth && heapGrowth && inWindow.length >= 2) {
  const n = inWindow[inWindow.length - 1].f.opened - inWindow[0].f.opened;
  if (n > 0) L.push(`per connection opened in that window (${n}): RSS ${f1((rssGrowth.trendOverWindow / n) / 1024, 2)} KiB, heap used ${f1((heapGrowth.trendOverWindow / n) / 1024, 2)} KiB (trend over the window / connections)`);
}
L.push(
  `verdict: RSS ${flat ? 'FLAT' : 'GROWING'} from ${FLAT_FROM} s (after TIME-WAITs cycled) to the end` +
    (rssGrowth ? ` (growth ${rssGrowth.growth >= 0 ? '+' : ''}${M(rssGrowth.growth)} MiB, ${rssGrowth.growthPct >= 0 ? '+' : ''}${rssGrowth.growthPct.toFixed(1)}%; trend over the window ${rssGrowth.trendOverWindow >= 0 ? '+' : ''}${M(rssGrowth.trendOverWindow)} MiB; threshold ${FLAT_PCT}%)` : ''),
);
L.push(`bounds filled (${BOUNDS} connections closed: the list and the forgotten tuples' stream numbers) at ${filledAt === null ? 'never in this run' : `${f1(filledAt / 60, 2)} min`}`);
const pc = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;
if (heapRetained && rssPeaks) {
  L.push(`heap in use after each full collection from ${f1(retainedFrom / 60, 2)} min, minute:MiB: ${afterGc.map((s) => `${f1(s.t / 60, 1)}:${M(s.f.heapUsed)}`).join(' ')}`);
  L.push(
    `verdict (retained): ${retainedFlat ? 'FLAT' : 'GROWING'}: heap kept after full collections, median ${M(heapRetained.first)} MiB in the first half of that window, ${M(heapRetained.second)} MiB in the second (${pc(heapRetained.pct)}); ` +
      `RSS peak ${M(rssPeaks.first)} MiB, then ${M(rssPeaks.second)} MiB (${pc(rssPeaks.pct)}); threshold ${FLAT_PCT}%`,
  );
} else L.push('verdict (retained): too short a run after the bounds filled, or no full collection in each half, to say (give more MINUTES)');
if (gen) {
  L.push(
    `generator: ${gen.started} started in ${f1(gen.seconds)} s (${f1(gen.started / gen.seconds)}/s, asked ${gen.rate}/s; pacing lag max ${f1(gen.maxLagMs)} ms), ` +
      `by ending ${kv(gen.byKind)}; outcomes ${kv(gen.outcomes)}; ${gen.leaks} CLOSE-WAIT leaks`,
  );
}
if (report?.live) {
  const l = report.live;
  L.push(
    `tcpsleuth's final report (${(report.bytes / MIB).toFixed(1)} MiB of JSON Lines, exit ${exitWaitS.toFixed(1)} s after the last scrape): ${l.packets} received, ${l.analysed} analysed; ` +
      `dropped by the kernel ${l.kernelDropped}, by the interface ${l.interfaceDropped}, by tcpsleuth ${l.queueDropped}; ${report.connections} connections listed, ` +
      `${report.findings} findings (${kv(report.findingsByKind)}); evicted ${report.tracking?.evicted}, unlisted ${kv(report.tracking?.unlisted)}`,
  );
} else if (report?.error) L.push(`tcpsleuth's final report: unreadable (${report.error})`);
L.push(`time series: ${csvPath}, ${jsonPath}`);
process.stdout.write(`${L.join('\n')}\n`);
