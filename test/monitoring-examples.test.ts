import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SEVERITIES } from '../src/detect/finding.js';
import { FINDING_KINDS } from '../src/detect/registry.js';
import { TCP_STATES } from '../src/track/states.js';
import type { ZeekConnStateName } from '../src/track/zeek-conn.js';
import { BIN } from './helpers/cli.js';
import { REPO } from './helpers/env.js';
import { HAVE_BINDING, IS_ROOT, Proc, have } from './live-netns.js';

/**
 * The monitoring examples in docs/: the Prometheus alerting rules and their unit
 * tests, the scrape config, and the systemd unit. The rules may only name metrics
 * and label values that `live --metrics` exports; the unit's way of running live
 * capture (an unprivileged user holding CAP_NET_RAW alone) is run for real.
 */

const PROM_DIR = join(REPO, 'docs', 'prometheus');
const RULES = join(PROM_DIR, 'tcpsleuth-alerts.yml');
const RULE_TESTS = join(PROM_DIR, 'tcpsleuth-alerts.test.yml');
const PROM_CONFIG = join(PROM_DIR, 'prometheus.yml');
const UNIT = join(REPO, 'docs', 'systemd', 'tcpsleuth-live.service');

const HAVE_PROMTOOL = spawnSync('promtool', ['--version']).status === 0;

const tmp = mkdtempSync(join(tmpdir(), 'tcpsleuth-monitoring-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Why `systemd-analyze verify` cannot be used here ('' when it can): missing, or failing on a trivial unit. */
const VERIFY_WHY = ((): string => {
  if (spawnSync('systemd-analyze', ['--version']).status !== 0) return 'systemd-analyze missing';
  const probe = join(tmp, 'tcpsleuth-probe.service');
  writeFileSync(probe, `[Service]\nExecStart=${process.execPath} --version\n`);
  const r = spawnSync('systemd-analyze', ['verify', probe], { encoding: 'utf8', timeout: 60_000 });
  if (r.status === 0) return '';
  return `systemd-analyze verify does not run here: ${`${r.stderr}${r.stdout}`.trim().split('\n')[0] || `status ${r.status}`}`;
})();

function runTool(cmd: string, args: string[]): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The metric names src/live/metrics.ts registers (`name: 'tcpsleuth_...'`). */
const EXPORTED = new Set([...readFileSync(join(REPO, 'src', 'live', 'metrics.ts'), 'utf8').matchAll(/name: '(tcpsleuth_[a-z_]+)'/g)].map((m) => m[1]!));

/** Every tcpsleuth_* metric named in a file. */
function metricNames(text: string): Set<string> {
  return new Set([...text.matchAll(/\btcpsleuth_[a-z_]+/g)].map((m) => m[0]));
}

/** Zeek's conn_state values (the Record type has the compiler check that none is missing). */
const ZEEK_CONN_STATES: Record<ZeekConnStateName, true> = {
  S0: true, S1: true, SF: true, REJ: true, S2: true, S3: true, RSTO: true, RSTR: true, RSTOS0: true, RSTRH: true, SH: true, SHR: true, OTH: true,
};

/** The values each label of tcpsleuth's metrics can take (port aside). */
const LABEL_VALUES: Record<string, readonly string[]> = {
  state: TCP_STATES,
  kind: FINDING_KINDS,
  severity: SEVERITIES,
  role: ['client', 'server'],
  conn_state: Object.keys(ZEEK_CONN_STATES),
  by: ['kernel', 'interface', 'queue'],
};

/** The rules' PromQL expressions: each `expr: |` block (the lines indented below it), or a one-line `expr:`. */
function expressions(text: string): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  lines.forEach((line, i) => {
    const m = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (!m) return;
    const indent = m[1]!.length;
    const rest = m[2]!.trim();
    if (rest !== '|' && rest !== '>') {
      out.push(rest);
      return;
    }
    const body: string[] = [];
    for (const l of lines.slice(i + 1)) {
      if (l.trim() !== '' && l.length - l.trimStart().length <= indent) break;
      body.push(l);
    }
    out.push(body.join('\n'));
  });
  return out;
}

/** Label matchers on those labels in PromQL: `kind=~"a|b"` gives kind a and kind b. */
function labelMatchers(promql: string): { label: string; value: string }[] {
  const out: { label: string; value: string }[] = [];
  for (const m of promql.matchAll(/\b(state|kind|severity|role|conn_state|by)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
    const [, label, op, value] = m;
    for (const v of op!.endsWith('~') ? value!.split('|') : [value!]) out.push({ label: label!, value: v });
  }
  return out;
}

describe('the alerting rules name only what tcpsleuth exports', () => {
  const rules = readFileSync(RULES, 'utf8');

  it('metrics.ts registers the metrics the rules are written for', () => {
    for (const name of ['tcpsleuth_endpoints', 'tcpsleuth_findings_total', 'tcpsleuth_connections_closed_total', 'tcpsleuth_packets_dropped_total', 'tcpsleuth_metrics_port_limit_reached', 'tcpsleuth_build_info']) {
      expect(EXPORTED, name).toContain(name);
    }
  });

  it('every tcpsleuth_* metric in the rules and in their unit tests is one that metrics.ts registers', () => {
    const used = metricNames(rules);
    expect(used.size).toBeGreaterThanOrEqual(5);
    for (const name of used) expect(EXPORTED, `${name} (tcpsleuth-alerts.yml)`).toContain(name);
    for (const name of metricNames(readFileSync(RULE_TESTS, 'utf8'))) expect(EXPORTED, `${name} (tcpsleuth-alerts.test.yml)`).toContain(name);
  });

  it('every state, kind, severity, role, conn_state and by value matched is one tcpsleuth gives', () => {
    const exprs = expressions(rules);
    expect(exprs).toHaveLength([...rules.matchAll(/- alert: /g)].length);
    const matchers = exprs.flatMap(labelMatchers);
    expect(matchers.some((m) => m.label === 'state')).toBe(true);
    expect(matchers.some((m) => m.label === 'kind')).toBe(true);
    for (const { label, value } of matchers) expect(LABEL_VALUES[label], `${label}="${value}"`).toContain(value);
  });

  it('every runbook hint points at a section of docs/findings.md or docs/live.md that exists', () => {
    const anchors = (file: string): Set<string> =>
      new Set(
        readFileSync(join(REPO, 'docs', file), 'utf8')
          .split('\n')
          .filter((l) => /^#{2,3} /.test(l))
          .map((l) => l.replace(/^#+ /, '').toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')),
      );
    const findings = anchors('findings.md');
    const live = anchors('live.md');
    const hints = [...rules.matchAll(/runbook: "see docs\/(findings|live)\.md#([^"]+)"/g)];
    expect(hints.length).toBeGreaterThanOrEqual(4);
    for (const [, file, anchor] of hints) {
      // A templated anchor ({{ $labels.kind }}) stands for the kinds the rules match: each has a section.
      if (anchor!.includes('{{')) for (const { value } of expressions(rules).flatMap(labelMatchers).filter((m) => m.label === 'kind')) expect(findings, value).toContain(value);
      else expect(file === 'findings' ? findings : live, `docs/${file}.md#${anchor}`).toContain(anchor);
    }
  });
});

describe.skipIf(!HAVE_PROMTOOL)(`the alerting rules and the scrape config pass promtool${HAVE_PROMTOOL ? '' : ' (skipped: promtool missing; Debian package prometheus)'}`, () => {
  it('promtool check rules', () => {
    const r = runTool('promtool', ['check', 'rules', RULES]);
    expect(r.out).toContain('SUCCESS');
    expect(r.code, r.out).toBe(0);
  });

  it('promtool test rules: each alert fires where it should and not where it should not', () => {
    const r = runTool('promtool', ['test', 'rules', RULE_TESTS]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS');
  });

  it('promtool check config: the example scrape config, with its rule file', () => {
    const r = runTool('promtool', ['check', 'config', PROM_CONFIG]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS: 1 rule files found');
  });

  it('the rule unit tests are not vacuous: a rule that never fires fails them', () => {
    // The same tests against a CLOSE-WAIT rule whose threshold is out of reach.
    const dir = join(tmp, 'mutated');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const rules = readFileSync(RULES, 'utf8');
    const mutated = rules.replace('role="server"}) > 50', 'role="server"}) > 5000');
    expect(mutated).not.toBe(rules);
    writeFileSync(join(dir, 'tcpsleuth-alerts.yml'), mutated);
    writeFileSync(join(dir, 'tcpsleuth-alerts.test.yml'), readFileSync(RULE_TESTS, 'utf8'));
    const r = spawnSync('promtool', ['test', 'rules', join(dir, 'tcpsleuth-alerts.test.yml')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain('TcpsleuthCloseWaitPileUp');
  });
});

/** The unit's settings: key -> values, in order (a key may repeat). */
function unitSettings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

/** ExecStart's words after the tcpsleuth.js path, expanded as systemd does from the Environment= defaults. */
function unitArgs(settings: Map<string, string[]>): string[] {
  const env = new Map<string, string>();
  for (const raw of settings.get('Environment') ?? []) {
    const a = raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
    const i = a.indexOf('=');
    env.set(a.slice(0, i), a.slice(i + 1));
  }
  const words = settings.get('ExecStart')![0]!.split(/\s+/);
  const at = words.findIndex((w) => w.endsWith('/bin/tcpsleuth.js'));
  expect(at).toBeGreaterThan(0);
  const args: string[] = [];
  for (const w of words.slice(at + 1)) {
    // "${X}" is one argument, "$X" is split on whitespace (systemd.service, "Command lines").
    const one = /^\$\{(\w+)\}$/.exec(w);
    const split = /^\$(\w+)$/.exec(w);
    if (one) args.push(env.get(one[1]!)!);
    else if (split) args.push(...env.get(split[1]!)!.split(/\s+/).filter((s) => s !== ''));
    else args.push(w);
  }
  return args;
}

describe('the systemd unit: what it grants and what it runs', () => {
  it('runs live without root: an unprivileged user holding CAP_NET_RAW alone, metrics on port 9464, findings as JSON', () => {
    const s = unitSettings(readFileSync(UNIT, 'utf8'));
    expect(s.get('DynamicUser')).toEqual(['yes']);
    expect(s.get('AmbientCapabilities')).toEqual(['CAP_NET_RAW']);
    expect(s.get('CapabilityBoundingSet')).toEqual(['CAP_NET_RAW']);
    expect(s.get('NoNewPrivileges')).toEqual(['yes']);
    expect(s.get('RestrictAddressFamilies')![0]!.split(' ')).toContain('AF_PACKET');
    expect(s.get('StandardOutput')).toEqual(['journal']);
    const args = unitArgs(s);
    expect(args).toEqual(['live', '-i', 'eth0', '--metrics', '9464', '--format', 'json', 'tcp']);
  });
});

describe.skipIf(VERIFY_WHY !== '')(`the systemd unit passes systemd-analyze verify${VERIFY_WHY ? ` (skipped: ${VERIFY_WHY})` : ''}`, () => {
  /** A copy whose ExecStart runs this node and this checkout, which verify checks exist. */
  function localCopy(dir: string, edit: (s: string) => string = (s) => s): string {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const text = readFileSync(UNIT, 'utf8').replace(/^ExecStart=\S+ \S+\/bin\/tcpsleuth\.js /m, `ExecStart=${process.execPath} ${BIN} `);
    expect(text).toContain(`ExecStart=${process.execPath} ${BIN} live `);
    const path = join(dir, 'tcpsleuth-live.service');
    writeFileSync(path, edit(text));
    return path;
  }

  /** Verify's complaints about this unit (it exits 0 on unknown keys and bad values, warning on stderr). */
  function verify(path: string): { code: number | null; complaints: string[] } {
    const r = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, complaints: `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('tcpsleuth-live.service')) };
  }

  it('systemd-analyze verify: no error and no warning', () => {
    const r = verify(localCopy(join(tmp, 'unit')));
    expect(r.complaints).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('verify reads the copy: a misspelt key draws a warning', () => {
    const r = verify(localCopy(join(tmp, 'unit-typo'), (s) => s.replace('ProtectSystem=strict', 'ProtectSytem=strict')));
    expect(r.complaints.join('\n')).toContain("Unknown key 'ProtectSytem'");
  });
});

// As the unit runs it, with stand-ins: nobody for the dynamic user, a fresh network
// namespace's lo for eth0, 127.0.0.1:0 for port 9464. setpriv gives the same
// credentials systemd would: CAP_NET_RAW inheritable, ambient and alone in the
// bounding set, no new privileges.
const HAVE_TOOLS = have('ip') && have('setpriv');
// A checkout under a private directory (mktemp -d is mode 700) is out of nobody's reach.
const NOBODY_READS = IS_ROOT && HAVE_TOOLS && spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'test', '-r', BIN]).status === 0;
const LIVE_WHY = !IS_ROOT ? 'not root' : !HAVE_BINDING ? 'no libpcap binding built' : !HAVE_TOOLS ? 'ip or setpriv missing' : !NOBODY_READS ? 'nobody cannot read the checkout' : '';

/**
 * Run in the namespace: leaks one CLOSE-WAIT on 127.0.0.1 (the server never closes
 * after the client's FIN), then fetches the metrics until tcpsleuth shows it, and
 * prints {status, body}.
 */
const SCRAPE_JS = `
const net = require('node:net');
const url = process.argv[1];
(async () => {
  const held = [];
  const server = net.createServer({ allowHalfOpen: true }, (s) => { held.push(s); s.resume(); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  const c = net.connect(port, '127.0.0.1');
  await new Promise((r) => c.once('connect', r));
  c.end('GET\\n');
  const want = 'tcpsleuth_endpoints{state="CLOSE-WAIT",role="server",port="' + port + '"} 1';
  let status = 0, body = '';
  for (let i = 0; i < 50; i++) {
    const res = await fetch(url);
    status = res.status;
    body = await res.text();
    if (body.includes(want)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  process.stdout.write(JSON.stringify({ status, body, port }));
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe.skipIf(LIVE_WHY !== '')(`the unit's live capture, run as nobody with CAP_NET_RAW only${LIVE_WHY ? ` (skipped: ${LIVE_WHY})` : ''}`, () => {
  const ns = `tsl-mon-${process.pid}-${randomBytes(3).toString('hex')}`;
  const procs: Proc[] = [];
  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', ns]);
  });

  it('serves /metrics (tcpsleuth_build_info, the CLOSE-WAIT the alert counts), then stops on SIGTERM with its report', async () => {
    expect(spawnSync('ip', ['netns', 'add', ns]).status).toBe(0);
    expect(spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']).status).toBe(0);

    // The unit's arguments, with lo for eth0 and an ephemeral port on loopback for 9464.
    const args = unitArgs(unitSettings(readFileSync(UNIT, 'utf8')));
    args[args.indexOf('-i') + 1] = 'lo';
    args[args.indexOf('--metrics') + 1] = '127.0.0.1:0';
    const live = new Proc('ip', [
      'netns', 'exec', ns,
      'setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups',
      '--inh-caps=-all,+net_raw', '--ambient-caps=-all,+net_raw', '--bounding-set=-all,+net_raw', '--no-new-privs', '--',
      process.execPath, BIN, ...args,
    ]);
    procs.push(live);
    await live.until((p) => /metrics on http:\/\/\S+/.test(p.stderr), 15_000, 'the "metrics on" line');
    const url = /^tcpsleuth: metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)$/m.exec(live.stderr)?.[1];
    expect(url, live.stderr).toBeDefined();

    // ip netns exec and setpriv exec in turn: the PID is node's, with the unit's credentials.
    const status = readFileSync(`/proc/${live.child.pid}/status`, 'utf8');
    const field = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)![1]!.trim();
    const NET_RAW = (1n << 13n).toString(16).padStart(16, '0');
    expect(field('Uid').split(/\s+/)).toEqual(['65534', '65534', '65534', '65534']);
    for (const caps of ['CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(field(caps), caps).toBe(NET_RAW);
    expect(field('NoNewPrivs')).toBe('1');

    // The metrics listen inside the namespace: fetched from there, with Node's fetch.
    const scrape = new Proc('ip', ['netns', 'exec', ns, process.execPath, '-e', SCRAPE_JS, url!]);
    procs.push(scrape);
    expect(await scrape.exited, scrape.stderr).toBe(0);
    const { status: code, body, port } = JSON.parse(scrape.stdout) as { status: number; body: string; port: number };
    expect(code).toBe(200);
    expect(body).toMatch(/^tcpsleuth_build_info\{version="[^"]+",interface="lo",backend="(pcap|cap)"\} 1$/m);
    expect(body).toContain(`tcpsleuth_endpoints{state="CLOSE-WAIT",role="server",port="${port}"} 1`);
    // Every metric the alerting rules use is in the exposition.
    for (const name of metricNames(readFileSync(RULES, 'utf8'))) expect(body, name).toContain(`# TYPE ${name} `);

    // systemctl stop: SIGTERM, then the closing report on stdout and status 0.
    live.kill('SIGTERM');
    expect(await live.exited, live.stderr).toBe(0);
    const report = JSON.parse(live.stdout.trim().split('\n').at(-1)!) as { type: string; live: { interface: string; filter: string | null; stoppedBy: string } };
    expect(report.type).toBe('report');
    expect(report.live).toMatchObject({ interface: 'lo', filter: 'tcp', stoppedBy: 'SIGTERM' });
  });
});
