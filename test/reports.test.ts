/**
 * The incident reports (`analyze --format md|html`): every finding with its
 * explanation, a ladder diagram per flagged connection with the finding's packets
 * highlighted and the states written where they change, the limits on big
 * captures said out loud, every capture string escaped, agreement with the JSON,
 * and the HTML opened in a real headless Chromium (no console errors, nothing
 * fetched, a diagram per flagged connection, a screenshot in test-artifacts/).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures, type AnalysisResult } from '../src/analyze.js';
import { escapeHtml, escapeMarkdown } from '../src/report/escape.js';
import { renderHtml } from '../src/report/html.js';
import { DEFAULT_REPORT_LIMITS, flaggedConnections, type ReportLimits } from '../src/report/incident.js';
import { collectLadders, ladderRows, type Ladder } from '../src/report/ladder.js';
import { renderMarkdown } from '../src/report/markdown.js';
import { groupFindings } from '../src/report/groups.js';
import { makeView, DEFAULT_VIEW, type ViewOptions } from '../src/report/view.js';
import { ipv4, tcp } from './helpers/ip-packets.js';
import { asV4, ethernet } from './helpers/link-layers.js';
import { pcapFile, type PcapRecordSpec } from './helpers/pcap.js';
import { OPT, Pcapng } from './helpers/pcapng.js';
import { useTempDir } from './helpers/temp-dir.js';
import { run } from './helpers/cli.js';
import { CAPTURES, REPO } from './helpers/env.js';

const ARTIFACTS = join(REPO, 'test-artifacts');
const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const tmp = useTempDir();
const capture = (name: string): string => join(CAPTURES, name);
// busy-server.pcap has more flagged connections than diagrams drawn, and a Markdown
// report fitted to its size limit: test/busy-capture.test.ts and the Chromium test below take it.
const ALL = readdirSync(CAPTURES)
  .filter((f) => f.endsWith('.pcap') && f !== 'busy-server.pcap')
  .sort();

interface Reports {
  result: AnalysisResult;
  ladders: Map<number, Ladder>;
  html: string;
  md: string;
}

/** Both reports in process, as `analyze --format md|html` makes them. */
async function reports(files: string[], view: ViewOptions = DEFAULT_VIEW, limits: ReportLimits = DEFAULT_REPORT_LIMITS): Promise<Reports> {
  const result = await analyzeCaptures(files);
  const ladders = await collectLadders(files, result.options, makeView(result, view), limits);
  return { result, ladders, html: renderHtml(result, view, ladders, limits), md: renderMarkdown(result, view, ladders, limits) };
}

/** The <svg> of one connection's ladder. */
function svgOf(html: string, id: number): string {
  const start = html.indexOf(`<svg class="ladder" data-connection="${id}"`);
  expect(start, `diagram of connection ${id}`).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf('</svg>', start) + 6);
}

/** A fenced text block following "### Connection N:" in the Markdown. */
function textLadderOf(md: string, id: number): string {
  const start = md.indexOf(`### Connection ${id}:`);
  expect(start, `Markdown diagram of connection ${id}`).toBeGreaterThanOrEqual(0);
  const open = md.indexOf('```text\n', start);
  return md.slice(open + 8, md.indexOf('\n```', open + 8));
}

// ---------------------------------------------------------------------------
// Synthetic captures
// ---------------------------------------------------------------------------

/** One TCP conversation written packet by packet, with sequence numbers kept. */
class Flow {
  readonly recs: PcapRecordSpec[] = [];
  private cseq: number;
  private sseq: number;

  constructor(
    private readonly at: { us: number },
    private readonly client: string,
    private readonly cport: number,
    private readonly server: string,
    private readonly sport: number,
  ) {
    this.cseq = 1000 + cport * 7;
    this.sseq = 50000 + cport * 13;
  }

  /** A segment; `flags` in build.ts letters (S A F R P). */
  send(fromClient: boolean, flags: string, len = 0, gapUs = 200): this {
    this.at.us += gapUs;
    const seq = fromClient ? this.cseq : this.sseq;
    const ack = fromClient ? this.sseq : this.cseq;
    const seg = tcp({
      sport: fromClient ? this.cport : this.sport,
      dport: fromClient ? this.sport : this.cport,
      seq,
      ack: flags.includes('A') ? ack : 0,
      flags,
      window: 502,
      payload: len,
    });
    const data = ethernet(asV4(ipv4({ src: fromClient ? this.client : this.server, dst: fromClient ? this.server : this.client, payload: seg })));
    this.recs.push({ data, sec: 1700000000 + Math.floor(this.at.us / 1e6), frac: this.at.us % 1e6 });
    const used = len + (flags.includes('S') ? 1 : 0) + (flags.includes('F') ? 1 : 0);
    if (fromClient) this.cseq = (this.cseq + used) >>> 0;
    else this.sseq = (this.sseq + used) >>> 0;
    return this;
  }

  handshake(): this {
    return this.send(true, 'S').send(false, 'SA').send(true, 'A');
  }
}

/**
 * A big capture: one long connection (a half-close in its middle: the client's FIN
 * after 40 requests, then 100 responses), then 25 refused connections.
 */
function bigCapture(): string {
  const at = { us: 0 };
  const long = new Flow(at, '10.1.0.1', 40000, '10.1.0.2', 8080).handshake();
  for (let i = 0; i < 40; i++) long.send(true, 'PA', 100).send(false, 'A');
  long.send(true, 'FA').send(false, 'A');
  for (let i = 0; i < 100; i++) long.send(false, 'PA', 1000).send(true, 'A');
  long.send(false, 'FA').send(true, 'A');
  const recs = [...long.recs];
  for (let i = 0; i < 25; i++) {
    const f = new Flow(at, '10.1.0.1', 41000 + i, '10.1.0.2', 9090).send(true, 'S', 0, 10_000).send(false, 'RA');
    recs.push(...f.recs);
  }
  return tmp.write('big.pcap', pcapFile(recs));
}

const HOSTILE_IF = '<script>alert(1)</script>';
const HOSTILE_DESC = '"><img src=x onerror=alert(2)>';
const HOSTILE_COMMENT = '</title><script>alert(3)</script><b>&amp;';
const HOSTILE_NAME = 'evil<b>&"\'x.pcapng';

/** A pcapng whose interface name, description and packet comments are markup, under a file name with < & " '. */
function hostileCapture(): string {
  const ng = new Pcapng();
  const at = { us: 0 };
  const f = new Flow(at, '10.2.0.1', 45000, '10.2.0.2', 7000).send(true, 'S', 0, 1000).send(false, 'RA');
  const blocks = [
    ng.shb({ options: [[OPT.COMMENT, HOSTILE_COMMENT]] }),
    ng.idb({ name: HOSTILE_IF, options: [[OPT.IF_DESCRIPTION, HOSTILE_DESC]] }),
    ...f.recs.map((r) => ng.epb({ ts: BigInt(r.sec!) * 1_000_000n + BigInt(r.frac!), data: r.data, comments: [HOSTILE_COMMENT] })),
  ];
  return tmp.write(HOSTILE_NAME, Buffer.concat(blocks));
}

// ---------------------------------------------------------------------------
// Content
// ---------------------------------------------------------------------------

describe('reports: every finding, its explanation and a diagram per flagged connection', () => {
  it.each(ALL)('%s', async (name) => {
    const { result, ladders, html, md } = await reports([capture(name)]);
    // One explanation per group; each member's connection named in it.
    for (const g of groupFindings(result.findings)) {
      const f = g.findings[0]!;
      expect(html).toContain(`data-kind="${f.kind}"`);
      expect(html).toContain(escapeHtml(f.summary));
      expect(html).toContain(escapeHtml(f.explanation));
      expect(md).toContain(`\`${f.kind}\``);
      expect(md).toContain(escapeMarkdown(f.explanation));
      const article = html.slice(html.indexOf(`<article class="finding ${g.severity}" id="group-${g.id}"`));
      const body = article.slice(0, article.indexOf('</article>'));
      for (const m of g.findings) expect(body).toMatch(new RegExp(`href="#(conn|ladder)-${m.connection}"`));
    }
    const flagged = flaggedConnections(makeView(result));
    expect((html.match(/<svg class="ladder"/g) ?? []).length).toBe(flagged.length);
    expect((md.match(/```text\n/g) ?? []).length).toBe(flagged.length);
    for (const c of flagged) {
      const svg = svgOf(html, c.id);
      const text = textLadderOf(md, c.id);
      const l = ladders.get(c.id)!;
      // Small captures: every packet drawn.
      expect(l.packets).toHaveLength(l.total);
      expect(l.total).toBe(c.client.packets + c.server.packets + c.icmp.length + c.icmpDropped);
      for (const p of l.packets) {
        expect(svg).toContain(`data-frame="${p.frame}"`);
        expect(text).toMatch(new RegExp(`^\\s+${p.frame}  \\+`, 'm'));
      }
      // The findings' packets are highlighted.
      const drawn = new Set(l.packets.map((p) => p.frame));
      for (const f of result.findings.filter((x) => x.connection === c.id)) {
        const mine = f.packets.filter((n) => drawn.has(n));
        expect(mine.length, `${f.kind}: a packet of its own connection`).toBeGreaterThan(0);
        for (const n of mine) {
          expect(svg).toMatch(new RegExp(`<g class="pkt flagged (error|warning|info)" data-frame="${n}">`));
          expect(text).toMatch(new RegExp(`^\\s+${n}  .*<< .*${f.kind}`, 'm'));
        }
      }
      // Each state is written where a packet changed it, on the right timeline.
      for (const role of ['client', 'server'] as const) {
        const byFrame = c[role].transitions.filter((t) => t.at.frame > 0);
        const marks = l.packets.filter((p) => (role === 'client' ? p.clientTo : p.serverTo) !== null);
        expect(marks.map((p) => p.frame)).toEqual([...new Set(byFrame.map((t) => t.at.frame))]);
        for (const p of marks) expect(svg).toContain(`class="state" fill="#5b3c99" font-weight="bold">${role === 'client' ? p.clientTo : p.serverTo}</text>`);
        expect(svg).toContain(`>${c[role].transitions[0]?.from ?? c[role].state}</text>`);
      }
    }
  });

  it('the findings of all captures/ cover every kind the captures hold', async () => {
    const kinds = new Set<string>();
    for (const name of ALL) {
      const { result, html } = await reports([capture(name)]);
      for (const f of result.findings) {
        kinds.add(f.kind);
        expect(html).toContain(`data-kind="${f.kind}"`);
      }
    }
    expect(kinds.size).toBeGreaterThanOrEqual(13);
  });

  it('says what a healthy capture is: no findings, no diagrams', async () => {
    const { html, md } = await reports([capture('healthy-client-close.pcap')]);
    expect(html).toContain('<p>No findings.</p>');
    expect(html).not.toContain('<svg');
    expect(md).toContain('No findings.');
    expect(md).not.toContain('## Ladder diagrams');
  });

  it('is self-contained: a CSP that forbids fetching, no scripts, no external references', async () => {
    const { html } = await reports([capture('port-reuse.pcap'), capture('icmp-unreachable.pcap')]);
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|src=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i);
  });
});

describe('reports agree with the JSON and the view filters', () => {
  it('connections and findings are the ones --format json lists, with the same filters', async () => {
    const files = [capture('port-reuse.pcap'), capture('icmp-unreachable.pcap'), capture('close-wait-stuck.pcap')];
    for (const filters of [[], ['--min-severity', 'warning'], ['--port', '7017'], ['--host', '10.99.0.2', '--min-severity', 'error']]) {
      const json = JSON.parse((await run(['analyze', '--format', 'json', ...filters, ...files])).stdout) as { connections: Array<{ id: number }>; findings: Array<{ kind: string; connection: number }> };
      const html = (await run(['analyze', '--format', 'html', ...filters, ...files])).stdout;
      const md = (await run(['analyze', '--format', 'md', ...filters, ...files])).stdout;
      const ids = json.connections.map((c) => c.id).sort((a, b) => a - b);
      expect([...html.matchAll(/<tr id="conn-(\d+)"/g)].map((m) => Number(m[1])).sort((a, b) => a - b), filters.join(' ')).toEqual(ids);
      const findings = json.findings.map((f) => `${f.connection}:${f.kind}`).sort();
      const distinct = [...new Set(findings)];
      // Each group article: its kind, and the connections it names.
      const htmlFindings = html
        .split('<article ')
        .slice(1)
        .flatMap((a) => {
          const kind = /data-kind="([\w-]+)"/.exec(a)![1]!;
          const body = a.slice(0, a.indexOf('</article>'));
          return [...body.matchAll(/href="#(?:conn|ladder)-(\d+)"/g)].map((m) => `${m[1]}:${kind}`);
        });
      expect([...new Set(htmlFindings)].sort(), filters.join(' ')).toEqual(distinct);
      const mdFindings = md
        .split('\n### ')
        .filter((b) => /^\d+\. \w+ `[\w-]+`: /.test(b))
        .flatMap((b) => {
          const kind = /`([\w-]+)`/.exec(b)![1]!;
          const one = /^\d+\. \w+ `[\w-]+`: connection (\d+),/.exec(b);
          const ids = one ? [one[1]!] : (/^- Connections: ([\d, ]+)/m.exec(b)?.[1] ?? '').split(', ');
          return ids.map((id) => `${id}:${kind}`);
        });
      expect([...new Set(mdFindings)].sort(), filters.join(' ')).toEqual(distinct);
      const flagged = new Set(json.findings.map((f) => f.connection));
      expect(new Set([...html.matchAll(/<svg class="ladder" data-connection="(\d+)"/g)].map((m) => Number(m[1])))).toEqual(flagged);
    }
  });

  it('reads standard input for md and html (kept aside for the diagrams), and --fail-on still works', async () => {
    const bytes = readFileSync(capture('peer-reset.pcap'));
    const fromFile = await run(['analyze', '--format', 'html', capture('peer-reset.pcap')]);
    const fromStdin = await run(['analyze', '--format', 'html', '--fail-on', 'error', '-'], bytes);
    expect(fromStdin.code).toBe(1);
    expect(fromStdin.stdout).toContain('&lt;stdin&gt;');
    expect(fromStdin.stdout).toContain('<svg class="ladder" data-connection="1"');
    expect(fromStdin.stdout.replace(/&lt;stdin&gt;/g, 'X')).toBe(fromFile.stdout.replaceAll(escapeHtml(capture('peer-reset.pcap')), 'X'));
    const md = await run(['analyze', '--format', 'md', '-'], bytes);
    expect(md.code).toBe(0);
    expect(md.stdout).toContain('&lt;stdin&gt;');
    expect(md.stdout).toContain('```text');
    const table = await run(['analyze', capture('peer-reset.pcap')]);
    expect(table.stdout).toMatch(/^Verdict:\n {2}ERROR {3}1 connection /m);
  });
});

describe('reports on a big capture stay readable and say what they left out', () => {
  it('draws at most --diagrams diagrams, worst first, and names how many flagged connections have none', async () => {
    const big = bigCapture();
    const { result, html, md } = await reports([big]);
    const flagged = flaggedConnections(makeView(result));
    expect(flagged).toHaveLength(26);
    expect((html.match(/<svg class="ladder"/g) ?? []).length).toBe(20);
    expect(html).toContain('20 of 26 drawn, <strong>6 more flagged connections left out</strong> (limit 20)');
    expect(md).toContain('(20 of 26: 6 more flagged connections left out, limit 20)');
    expect((md.match(/```text\n/g) ?? []).length).toBe(20);
    // Warnings (refused) before the info (half-close) of connection 1.
    expect(html.indexOf('data-connection="2"')).toBeLessThan(html.indexOf('data-connection="21"'));
    expect(html).not.toContain('data-connection="1"');
  });

  it('elides the middle of a long connection, keeps its finding and state-change packets, and says how many were left out', async () => {
    const big = bigCapture();
    const limits = { ...DEFAULT_REPORT_LIMITS, diagrams: 30 };
    const { result, ladders, html, md } = await reports([big], DEFAULT_VIEW, limits);
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'report-big.md'), md);
    const c = result.connections[0]!;
    const l = ladders.get(1)!;
    expect(l.total).toBe(287);
    expect(l.packets.length).toBeLessThanOrEqual(60);
    const rows = ladderRows(l);
    const gaps = rows.filter((r) => 'elided' in r);
    expect(gaps.length).toBeGreaterThanOrEqual(2);
    const leftOut = 287 - l.packets.length;
    expect(gaps.reduce((a, r) => a + ('elided' in r ? r.elided.count : 0), 0)).toBe(leftOut);
    // The half-close's packets and every state change are drawn, though in the middle.
    const half = result.findings.find((f) => f.kind === 'half-close')!;
    expect(half.connection).toBe(1);
    const drawn = new Set(l.packets.map((p) => p.frame));
    const fin = c.client.finAt!.frame;
    expect(fin).toBeGreaterThan(60);
    expect(drawn.has(fin)).toBe(true);
    for (const n of half.packets) expect(drawn.has(n), `finding packet ${n}`).toBe(true);
    for (const t of [...c.client.transitions, ...c.server.transitions]) if (t.at.frame > 0) expect(drawn.has(t.at.frame), `state change at ${t.at.frame}`).toBe(true);
    const svg = svgOf(html, 1);
    expect(svg).toMatch(/⋯ \d+ packets left out \(frames \d+–\d+\) ⋯/);
    expect(svg).toMatch(new RegExp(`<g class="pkt flagged info" data-frame="${fin}">`));
    expect(html).toContain(`${leftOut} of 287 packets left out (limit 60 per diagram)`);
    const text = textLadderOf(md, 1);
    expect(text).toMatch(/\.\.\. \d+ packets left out \(frames \d+–\d+\) \.\.\./);
    expect(md).toContain(`*${leftOut} of 287 packets left out (limit 60 per diagram)`);
    // --diagram-packets from the command line.
    const cli = await run(['analyze', '--format', 'md', '--diagrams', '30', '--diagram-packets', '20', big]);
    expect(cli.stdout).toContain('*267 of 287 packets left out (limit 20 per diagram)');
  });

  it('keeps the connection and findings lists within their limits too', async () => {
    const big = bigCapture();
    // 26 findings in two groups: 25 refusals of one port, one half-close.
    const { html, md } = await reports([big], DEFAULT_VIEW, { diagrams: 2, packetsPerDiagram: 60, findings: 1, connections: 10, maxChars: 0 });
    expect(html).toContain('1 more group left out (limit 1)');
    expect(html).toContain('16 more connections left out of this table (limit 10; flagged ones come first)');
    expect(md).toContain('1 more group left out (limit 1)');
    expect(md).toContain('16 more connections left out of this table (limit 10; flagged ones come first)');
    expect((html.match(/<tr id="conn-/g) ?? []).length).toBe(10);
  });
});

describe('reports escape every string from a capture', () => {
  it('interface name, description, comments and a file name with markup come out as text', async () => {
    const file = hostileCapture();
    const { result, html, md } = await reports([file]);
    expect(result.findings.map((f) => f.kind)).toEqual(['connection-refused']);
    expect(result.captures[0]!.interfaces[0]!.name).toBe(HOSTILE_IF);
    // No markup from the capture survives.
    expect(html).not.toMatch(/<script|<img|<b>|onerror=alert\(2\)>|<\/title><script/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(2)&gt;');
    expect(html).toContain(escapeHtml(HOSTILE_COMMENT));
    expect(html).toContain('evil&lt;b&gt;&amp;&quot;&#39;x.pcapng');
    // The only tags are the report's own.
    const tags = new Set([...html.matchAll(/<\/?([a-zA-Z][\w-]*)/g)].map((m) => m[1]!.toLowerCase()));
    const own = ['html', 'head', 'meta', 'title', 'style', 'body', 'main', 'header', 'h1', 'h2', 'h3', 'p', 'section', 'div', 'span', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'br', 'small', 'code', 'a', 'article', 'strong', 'figure', 'figcaption', 'svg', 'text', 'tspan', 'rect', 'line', 'polygon', 'circle', 'g', 'i', 'ul', 'li', 'footer'];
    expect([...tags].filter((t) => !own.includes(t))).toEqual([]);
    expect(md).not.toMatch(/<script|<img|<b>|<\/title>/i);
    expect(md).toContain('&lt;script&gt;alert\\(1\\)&lt;/script&gt;'.replace(/\\/g, ''));
    expect(md).toContain('evil&lt;b&gt;&amp;"\'x.pcapng');
    // Via the command line too.
    const cli = await run(['analyze', '--format', 'html', file]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).not.toMatch(/<script|<img|<b>/i);
  });
});

// ---------------------------------------------------------------------------
// Headless browser
// ---------------------------------------------------------------------------

interface BrowserCheck {
  consoleErrors: string[];
  pageErrors: string[];
  failed: string[];
  requests: string[];
  dialogs: string[];
  diagrams: number[];
  widths: number[];
  /** Each group article's member count, and the pile-up charts drawn. */
  groups: number[];
  pileUps: number;
}

describe.skipIf(!HAVE_CHROMIUM)(`HTML report in headless Chromium (needs ${CHROMIUM}: apt-get install chromium)`, () => {
  async function open(html: string, name: string, shot: 'full' | 'top', section?: string): Promise<BrowserCheck> {
    const { chromium } = await import('playwright-core');
    mkdirSync(ARTIFACTS, { recursive: true });
    const path = join(ARTIFACTS, `${name}.html`);
    writeFileSync(path, html);
    const url = pathToFileURL(path).href;
    const profile = mkdtempSync(join(tmpdir(), 'tcpsleuth-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1360, height: 1000 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const check: BrowserCheck = { consoleErrors: [], pageErrors: [], failed: [], requests: [], dialogs: [], diagrams: [], widths: [], groups: [], pileUps: 0 };
    try {
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') check.consoleErrors.push(m.text());
      });
      page.on('pageerror', (e) => check.pageErrors.push(e.message));
      page.on('requestfailed', (r) => check.failed.push(`${r.url()} ${r.failure()?.errorText ?? ''}`));
      page.on('request', (r) => check.requests.push(r.url()));
      page.on('dialog', (d) => {
        check.dialogs.push(d.message());
        void d.dismiss();
      });
      await page.goto(url, { waitUntil: 'load' });
      check.diagrams = await page.$$eval('svg.ladder', (els) => els.map((e) => Number(e.getAttribute('data-connection'))));
      check.widths = await page.$$eval('svg.ladder', (els) => els.map((e) => e.getBoundingClientRect().width));
      await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: shot === 'full' });
      if (section !== undefined) await page.locator(`#${section}`).screenshot({ path: join(ARTIFACTS, `${name}-${section}.png`) });
      check.groups = await page.$$eval('article.finding', (els) => els.map((e) => Number(e.getAttribute('data-count'))));
      check.pileUps = await page.$$eval('svg.pileup', (els) => els.length);
      expect(check.requests.filter((u) => u !== url)).toEqual([]);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
    return check;
  }

  function expectClean(c: BrowserCheck): void {
    expect(c.consoleErrors).toEqual([]);
    expect(c.pageErrors).toEqual([]);
    expect(c.failed).toEqual([]);
    expect(c.dialogs).toEqual([]);
  }

  it('a report of several captures: no console errors, nothing fetched, a diagram per flagged connection; screenshot saved', async () => {
    const files = ['close-wait-stuck.pcap', 'port-reuse.pcap', 'icmp-unreachable.pcap', 'zero-window.pcap', 'half-open.pcap', 'peer-reset.pcap'].map(capture);
    const { result, html } = await reports(files);
    const c = await open(html, 'report-captures', 'full');
    expectClean(c);
    const flagged = flaggedConnections(makeView(result)).map((x) => x.id);
    expect(flagged.length).toBeGreaterThanOrEqual(6);
    expect([...c.diagrams].sort((a, b) => a - b)).toEqual([...flagged].sort((a, b) => a - b));
    for (const w of c.widths) expect(w).toBeGreaterThan(1000);
    expect(existsSync(join(ARTIFACTS, 'report-captures.png'))).toBe(true);
  });

  it.each(['syn-timeout.pcap', 'write-after-fin.pcap', 'simultaneous-close.pcap'])('the report of %s alone', async (name) => {
    const { result, html } = await reports([capture(name)]);
    const c = await open(html, `report-${name.replace(/\.pcap$/, '')}`, 'full');
    expectClean(c);
    expect(c.diagrams).toEqual(flaggedConnections(makeView(result)).map((x) => x.id));
  });

  it('a busy server, grouped: one article per group (five, not 140), the CLOSE-WAIT pile-ups charted; screenshots saved', async () => {
    const { html } = await reports([capture('busy-server.pcap')]);
    const c = await open(html, 'report-busy-server', 'top', 'findings');
    expectClean(c);
    expect(c.groups).toEqual([60, 40, 10, 20, 10]);
    expect(c.pileUps).toBe(2);
    expect(c.diagrams).toHaveLength(DEFAULT_REPORT_LIMITS.diagrams);
    expect(existsSync(join(ARTIFACTS, 'report-busy-server-findings.png'))).toBe(true);
  });

  it('hostile strings stay text: no script runs, no image is requested', async () => {
    const { html } = await reports([hostileCapture()]);
    const c = await open(html, 'report-hostile', 'top');
    expectClean(c);
    expect(c.diagrams).toEqual([1]);
  });

  it('a big capture: every flagged connection drawn (--diagrams 26), the long one elided', async () => {
    const { html } = await reports([bigCapture()], DEFAULT_VIEW, { ...DEFAULT_REPORT_LIMITS, diagrams: 26 });
    const c = await open(html, 'report-big', 'full');
    expectClean(c);
    expect(c.diagrams).toHaveLength(26);
    expect(c.diagrams[25]).toBe(1);
  });
});
