/**
 * The real-kernel scenarios in captures/: every capture gives the finding its
 * scenario demonstrates, on the endpoint the kernel's own record points at; the
 * healthy ones give no warning or error; and each endpoint's final state equals
 * what `ss` showed, wherever the wire can show it. Expectations come from the
 * truth files (what the applications and `ss` observed), never from our output.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures, type AnalysisResult } from '../src/analyze.js';
import { SS_NAMES, type TcpState } from '../src/track/states.js';
import { captureView } from '../src/detect/vantage.js';
import { CAPTURES } from './helpers/env.js';
import { connectionLine } from '../src/report/connection-line.js';

interface SsSocket {
  state: string;
  local: string;
  peer: string;
  recv_q: number;
  send_q: number;
  timer: { name: string; retrans: number } | null;
}
interface Side {
  calls: string[];
  errors: string[];
}
/** How a tunnelled scenario's packets were carried (captures/tunnel/). */
interface TunnelTruth {
  type: 'vxlan' | 'geneve' | 'gretap' | 'erspan' | 'ipip' | 'sit';
  vni?: number;
  port?: number;
  key?: number;
  session?: number;
  /** ERSPAN: the kernel's erspan_ver (1: type II, 2: type III). */
  version?: number;
  made_by: string;
  underlay: { client: { address: string }; server: { address: string } };
}
interface Truth {
  /** The folder the truth file is in. */
  dir: string;
  environment?: { machine?: string };
  scenario: string;
  tunnel?: TunnelTruth;
  patterns: string[];
  /** routed: a router namespace between the hosts, with delay on both links (vantage shows in the timing). */
  topology?: string;
  client: { address: string; endpoints: string[] };
  server: { endpoint: string };
  captures: Array<{ file: string; vantage: string; one_sided?: string }>;
  observed: { client: Side; server: Side; final_ss: { client: SsSocket[]; server: SsSocket[] } };
  ss: Array<{ label: string; client: { sockets: SsSocket[] }; server: { sockets: SsSocket[] } }>;
  events: Array<{ side: Role; call: string; elapsed?: number }>;
  driver_actions?: unknown;
}

/** captures/ and captures/tunnel/, the same scenarios carried in tunnels (captured on the underlay). */
const truths: Truth[] = [CAPTURES, join(CAPTURES, 'tunnel')].flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.truth.json'))
    .map((f) => ({ ...(JSON.parse(readFileSync(join(dir, f), 'utf8')) as Omit<Truth, 'dir'>), dir })),
);

type Role = 'client' | 'server';
const other = (r: Role): Role => (r === 'client' ? 'server' : 'client');
const sideWith = (t: Truth, errno: string): Role | null =>
  t.observed.client.errors.includes(errno) ? 'client' : t.observed.server.errors.includes(errno) ? 'server' : null;

/** The endpoint docs/findings.md names for each kind, read off what the kernel and applications reported. */
function expectedEndpoint(t: Truth, pattern: string): Role {
  const peerOf = (...errnos: string[]): Role => {
    for (const e of errnos) {
      const s = sideWith(t, e);
      if (s) return other(s);
    }
    throw new Error(`${t.scenario}: no side observed ${errnos.join('/')}`);
  };
  /** The side `ss` showed in `state` (with a retransmission timer running, if `retransmitting`) at any snapshot, final or not. */
  const seenIn = (state: string, retransmitting = false): Role | null => {
    for (const snap of t.ss) {
      for (const r of ['client', 'server'] as const) {
        if (snap[r].sockets.some((s) => s.state === state && (!retransmitting || (s.timer?.name === 'on' && s.timer.retrans > 0)))) return r;
      }
    }
    return null;
  };
  switch (pattern) {
    case 'close-wait-stuck': {
      // The side whose socket `ss` showed in CLOSE-WAIT (at the end, or while it lasted when it closed later).
      for (const r of ['client', 'server'] as const) if (t.observed.final_ss[r].some((s) => s.state === 'CLOSE-WAIT')) return r;
      const r = seenIn('CLOSE-WAIT');
      if (r) return r;
      throw new Error('no CLOSE-WAIT socket in ss');
    }
    case 'write-after-fin': {
      // The writer: the side that got EPIPE, or else the one that sent after its read returned end-of-file.
      const epipe = sideWith(t, 'EPIPE');
      if (epipe) return epipe;
      for (const r of ['client', 'server'] as const) {
        const calls = t.observed[r].calls;
        const eof = calls.findIndex((x) => x.endsWith('-> eof'));
        if (eof >= 0 && calls.slice(eof).some((x) => x.startsWith('send'))) return r;
      }
      throw new Error('nobody wrote after end-of-file');
    }
    case 'middlebox-reset':
      return peerOf('ECONNRESET'); // the side whose name the RST carried: the peer of the one that saw it
    case 'stray-rst':
      // The side whose kernel sent the RSTs: the only one with a socket (the other pokes with raw packets).
      return t.observed.server.calls.some((x) => x.startsWith('listen')) && !t.observed.client.calls.some((x) => x.startsWith('connect')) ? 'server' : 'client';
    case 'abortive-close':
    case 'peer-reset':
    case 'handshake-abort':
      return peerOf('ECONNRESET'); // the resetting side is the peer of the one that saw ECONNRESET
    case 'half-open': {
      if (recovered(t)) {
        // Nobody failed: the side `ss` showed retransmitting waited for this one.
        const r = seenIn('ESTAB', true);
        if (r) return other(r);
      }
      // The waiting side timed out, or the silent one came back without the connection (its RST).
      return peerOf('ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET');
    }
    case 'icmp-unreachable':
      return peerOf('EHOSTUNREACH', 'ENETUNREACH');
    case 'connection-refused':
      return peerOf('ECONNREFUSED');
    case 'syn-timeout': {
      if (recovered(t)) {
        const r = seenIn('SYN-SENT');
        if (r) return other(r);
      }
      return peerOf('ETIMEDOUT');
    }
    case 'zero-window': {
      // The reader that stopped: its socket held unread bytes while the stall lasted.
      for (const snap of t.ss.filter((s) => s.label !== 'final')) {
        for (const r of ['client', 'server'] as const) if (snap[r].sockets.some((s) => s.state === 'ESTAB' && s.recv_q > 0)) return r;
      }
      throw new Error('no stalled reader in ss');
    }
    case 'half-close':
      for (const r of ['client', 'server'] as const) if (t.observed[r].calls.some((c) => c.startsWith('shutdown SHUT_WR'))) return r;
      throw new Error('nobody called shutdown(SHUT_WR)');
    case 'port-reuse':
    case 'simultaneous-close':
      return 'client';
    case 'listen-overflow': {
      // The listener whose kernel held the connection in SYN-RECV while its peer's was ESTABLISHED.
      const r = seenIn('SYN-RECV');
      if (r) return r;
      throw new Error('no SYN-RECV socket in ss');
    }
    default:
      throw new Error(`unknown pattern ${pattern}`);
  }
}

/** No socket call failed on either side: whatever the scenario showed ended within it. */
function recovered(t: Truth): boolean {
  return t.observed.client.errors.length === 0 && t.observed.server.errors.length === 0;
}

/** A kernel gave up waiting for its peer (ETIMEDOUT, EHOSTUNREACH): the peer never answered within the capture. */
function gaveUp(t: Truth): boolean {
  return sideWith(t, 'ETIMEDOUT') !== null || sideWith(t, 'EHOSTUNREACH') !== null;
}

/** A finding the scenario does not name but that the recorded application behaviour produces. */
function impliedByTruth(t: Truth, kind: string): boolean {
  const calls = [...t.observed.client.calls, ...t.observed.server.calls];
  if (kind === 'abortive-close') return calls.some((c) => c.includes('SO_LINGER={"l_onoff": 1, "l_linger": 0}')) && sideWith(t, 'ECONNRESET') !== null;
  return false;
}

/** ss's record of one endpoint of the tuple: our state name, or CLOSED when it holds no socket. */
function kernelState(t: Truth, role: Role, client: string, server: string): TcpState {
  const local = role === 'client' ? client : server;
  const peer = role === 'client' ? server : client;
  const s = t.observed.final_ss[role].find((x) => x.local === local && x.peer === peer);
  return s ? SS_NAMES[s.state]! : 'CLOSED';
}

/** Made in a virtual machine without hardware acceleration (captures/vm/). */
function emulated(t: Truth): boolean {
  return /software emulation/.test(t.environment?.machine ?? '');
}

async function analyze(dir: string, file: string): Promise<AnalysisResult> {
  const r = await analyzeCaptures([join(dir, file)]);
  expect(r.captures[0]!.errors).toEqual([]);
  return r;
}

/** What the JSON's tunnel list must say of a connection in the truth's tunnel: its type, ERSPAN type, id, and the UDP port. */
function expectedLayer(t: TunnelTruth): { type: string; erspanType: number | null; id: number | null; port: number | null } {
  switch (t.type) {
    case 'vxlan':
    case 'geneve':
      return { type: t.type, erspanType: null, id: t.vni!, port: t.port! };
    case 'gretap':
      return { type: 'gre', erspanType: null, id: t.key ?? null, port: null };
    case 'erspan':
      return { type: 'erspan', erspanType: t.version! + 1, id: t.session!, port: null };
    case 'ipip':
    case 'sit':
      return { type: 'ip-in-ip', erspanType: null, id: null, port: null };
  }
}

for (const t of truths) {
  const where = t.dir === CAPTURES ? 'captures' : 'captures/tunnel';
  describe(`${where}/${t.scenario} (real kernel${t.tunnel ? `, in ${t.tunnel.type}` : ''})`, () => {
    const analyze1 = (file: string): Promise<AnalysisResult> => analyze(t.dir, file);
    if (t.tunnel !== undefined) {
      const tunnel = t.tunnel;
      it(`every TCP segment is found inside the ${tunnel.type} tunnel, and each connection says which (${tunnel.made_by})`, async () => {
        const r = await analyze1(t.captures[0]!.file);
        const d = r.captures[0]!.decode;
        expect(d.tcp).toBeGreaterThan(0);
        expect(d.tunnelledTcp).toBe(d.tcp);
        expect(d.damagedPackets).toBe(0);
        const underlay = [tunnel.underlay.client.address, tunnel.underlay.server.address].map((a) => a.replace(/\/\d+$/, '')).sort();
        const want = expectedLayer(tunnel);
        expect(r.connections.length).toBeGreaterThan(0);
        for (const c of r.connections) {
          const layers = (JSON.parse(connectionLine(c, r.end)) as { tunnel: Array<Record<string, unknown>> }).tunnel;
          expect(layers.length).toBe(1);
          const l = layers[0]!;
          expect([l['type'], l['erspanType'], l['id']]).toEqual([want.type, want.erspanType, want.id]);
          expect([l['src'], l['dst']].sort()).toEqual(underlay);
          if (want.port !== null) expect([l['srcPort'], l['dstPort']]).toContain(want.port);
          else expect([l['srcPort'], l['dstPort']]).toEqual([null, null]);
          // The inner addresses are the scenario's own, not the underlay's.
          expect(c.address('client').startsWith(t.client.address.includes(':') ? `[${t.client.address}]` : t.client.address)).toBe(true);
        }
      });
    }
    for (const cap of t.captures) {
      it(`${cap.file} (captured on the ${cap.vantage} side): findings`, async () => {
        const r = await analyze1(cap.file);
        const serious = r.findings.filter((f) => f.severity !== 'info');
        if (t.patterns.includes('healthy')) {
          expect(serious.map((f) => `${f.kind}: ${f.summary}`)).toEqual([]);
          return;
        }
        for (const p of t.patterns) {
          const role = expectedEndpoint(t, p);
          // A busy capture has one kind on both sides (client aborts, server resets): the one the truth names is among them.
          const f = r.findings.find((x) => x.kind === p && x.endpoint === role) ?? r.findings.find((x) => x.kind === p);
          expect(f, `${p} in ${r.findings.map((x) => x.kind).join(', ')}`).toBeDefined();
          expect(f!.endpoint, `${p} is about the ${role}`).toBe(role);
          expect(f!.packets.length).toBeGreaterThan(0);
          // The explanation points at packets of the finding, and says what to do about a warning or an error.
          const cited = [...f!.explanation.matchAll(/\bframes? (\d+)/g)].map((m) => Number(m[1]));
          expect(cited.filter((n) => f!.packets.includes(n)), f!.explanation).not.toEqual([]);
          if (f!.severity !== 'info') expect(f!.explanation).toMatch(/\bFix: /);
          // A condition that ended within the capture (the peer answered, the application closed) is reported as ended.
          if (f!.kind === 'half-open' || f!.kind === 'syn-timeout') {
            const after = f!.details.answeredAfterSeconds;
            if (gaveUp(t)) expect(after, 'never answered').toBeNull();
            else expect(after, 'answered later').toBeGreaterThan(0);
            // A peer that answers and carries on is a warning; one that never does, or comes back with a RST, an error.
            if (f!.kind === 'half-open') expect(f!.severity).toBe(recovered(t) ? 'warning' : 'error');
          }
          if (f!.kind === 'listen-overflow') {
            // How long the server took to take the connection is how long the client's application waited for its answer.
            const blocked = Math.max(...t.events.filter((e) => e.side === 'client' && e.call === 'recv').map((e) => e.elapsed ?? 0));
            const after = f!.details.takenAfterSeconds;
            if (recovered(t)) expect(Math.abs(after! - blocked), `taken after ${after} s, the client's recv() blocked ${blocked} s`).toBeLessThan(0.05);
            else expect(after).toBeNull();
          }
          // Error only where an application is shown to have got one: a last write that met a RST, with no EPIPE, is not.
          if (f!.kind === 'write-after-fin' && sideWith(t, 'EPIPE') === null) expect(f!.severity).not.toBe('error');
          if (f!.kind === 'close-wait-stuck') {
            const stillThere = t.observed.final_ss[f!.endpoint].some((x) => x.state === 'CLOSE-WAIT');
            expect(f!.details.closedLater, 'closed later').toBe(!stillThere);
          }
        }
        // Nothing else of warning or error severity, unless what the applications did implies it.
        const extra = serious.filter((f) => !t.patterns.includes(f.kind) && !impliedByTruth(t, f.kind));
        expect(extra.map((f) => `${f.kind}: ${f.summary}`)).toEqual([]);
      });

      it(`${cap.file}: the vantage point the truth records, or unknown`, async () => {
        const r = await analyze1(cap.file);
        for (const c of r.connections) {
          const v = captureView(c);
          // With delay on both links the handshake's timing shows it; on one veth only TTLs could, and both are 64.
          if (t.topology === 'routed') expect(v.vantage, v.clues.join('; ')).toBe(cap.vantage);
          // Under software emulation each host takes milliseconds to answer, as if across a network: timing shows nothing there.
          else if (emulated(t)) expect(['unknown', cap.vantage, 'path'], v.clues.join('; ')).toContain(v.vantage);
          else expect(['unknown', cap.vantage], v.clues.join('; ')).toContain(v.vantage);
          if (cap.one_sided === 'out') expect(v.unseen).toBe(other(cap.vantage as Role));
        }
        // What an application saw is firm only where the capture shows its own host: elsewhere no finding that claims it is certain.
        const claims: Record<string, 'endpoint' | 'peer'> = { 'peer-reset': 'peer', 'abortive-close': 'peer', 'connection-refused': 'peer', 'half-open': 'peer', 'syn-timeout': 'peer', 'handshake-abort': 'peer', 'write-after-fin': 'endpoint', 'middlebox-reset': 'peer', 'icmp-unreachable': 'peer' };
        for (const f of r.findings) {
          const who = claims[f.kind];
          if (who === undefined) continue;
          const saw = who === 'endpoint' ? f.endpoint : other(f.endpoint);
          if (captureView(r.connections.find((c) => c.id === f.connection)!).vantage !== saw) expect(f.confidence, `${f.kind}: ${f.summary}`).not.toBe('certain');
        }
      });

      it(`${cap.file}: final endpoint states match ss where the wire can show them`, async () => {
        const r = await analyze1(cap.file);
        const last = r.connections[r.connections.length - 1]!;
        const client = last.address('client');
        const server = last.address('server');
        for (const role of ['client', 'server'] as const) {
          const ours = (role === 'client' ? last.client : last.server).state;
          const kernel = kernelState(t, role, client, server);
          // A kernel that gives up silently (retransmission timeout, ICMP errors) sends nothing:
          // no packet can show that it dropped the connection.
          const silentGiveUp = ['ETIMEDOUT', 'EHOSTUNREACH'].some((e) => t.observed[role].errors.includes(e)) && kernel === 'CLOSED' && (ours === 'ESTABLISHED' || ours === 'SYN-SENT');
          // A RST the scenario's firewall dropped on the way never reached this side.
          const droppedRst = kernel === 'ESTABLISHED' && ours === 'CLOSED' && JSON.stringify(t.driver_actions ?? '').includes('drop');
          if (silentGiveUp || droppedRst) continue;
          // A side the capture never shows (tcpdump -Q out) has only inferred states: nothing to hold it to.
          if (cap.one_sided === 'out' && role !== cap.vantage) continue;
          // A listening server endpoint holds no socket for the connection.
          expect(ours === 'LISTEN' ? 'CLOSED' : ours, `${role} ${role === 'client' ? client : server}`).toBe(kernel);
        }
      });
    }
  });
}
