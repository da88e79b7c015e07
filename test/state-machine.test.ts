/**
 * Edge cases of the endpoint state machines that the real-kernel scenarios do not
 * reach: unacceptable RSTs, sequence wrap-around, TIME-WAIT ending on the clock,
 * connections first seen mid-stream. Synthetic conversations, written as pcaps.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeCaptures, type AnalysisResult, type AnalyzeHooks } from '../src/analyze.js';
import { pacing } from '../src/detect/detector.js';
import { asV4, ethernet, ipv4, pcapFile, tcp, type PcapRecordSpec } from './helpers/build.js';

const dir = mkdtempSync(join(tmpdir(), 'tcpsleuth-sm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Step {
  /** c: client -> server, s: server -> client. */
  from: 'c' | 's';
  flags: string;
  seq: number;
  ack?: number;
  len?: number;
  window?: number;
  /** Seconds after the start. */
  t: number;
  /** The client's port (40000 unless given): another connection. */
  port?: number;
  /** The IP TTL as captured (64 unless given). */
  ttl?: number;
}

const C = '10.0.0.1';
const S = '10.0.0.2';

let n = 0;
async function run(steps: Step[], hooks?: AnalyzeHooks): Promise<AnalysisResult> {
  const records: PcapRecordSpec[] = steps.map((st) => {
    const seg = tcp({
      sport: st.from === 'c' ? (st.port ?? 40000) : 80,
      dport: st.from === 'c' ? 80 : (st.port ?? 40000),
      seq: st.seq >>> 0,
      ack: (st.ack ?? 0) >>> 0,
      flags: st.flags,
      window: st.window ?? 1000,
      payload: st.len ?? 0,
    });
    const frame = ethernet(asV4(ipv4({ src: st.from === 'c' ? C : S, dst: st.from === 'c' ? S : C, ttl: st.ttl, payload: seg })));
    const whole = Math.floor(st.t);
    return { data: frame, sec: 1700000000 + whole, frac: Math.round((st.t - whole) * 1e6) };
  });
  const file = join(dir, `conv-${n++}.pcap`);
  writeFileSync(file, pcapFile(records));
  const r = await analyzeCaptures([file], undefined, undefined, hooks);
  expect(r.captures[0]!.errors).toEqual([]);
  return r;
}

/** A handshake with the given ISNs, at t = 0. */
function handshake(ci: number, si: number): Step[] {
  return [
    { from: 'c', flags: 'S', seq: ci, t: 0 },
    { from: 's', flags: 'SA', seq: si, ack: ci + 1, t: 0.001 },
    { from: 'c', flags: 'A', seq: ci + 1, ack: si + 1, t: 0.002 },
  ];
}

describe('endpoint state machines', () => {
  it('a RST outside the receive window is ignored, counted, and changes nothing (RFC 9293 3.10.7.4)', async () => {
    const r = await run([
      ...handshake(1000, 5000),
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, len: 100, t: 0.01 },
      { from: 's', flags: 'A', seq: 5001, ack: 1101, t: 0.011 },
      // Far outside the client's window (1000 bytes from ack 5001).
      { from: 's', flags: 'R', seq: 900000, t: 0.02 },
    ]);
    const c = r.connections[0]!;
    expect(c.client.state).toBe('ESTABLISHED');
    expect(c.client.ignoredRsts).toBe(1);
    // The sender of a RST has no connection any more, whatever its receiver did with it.
    expect(c.server.state).toBe('CLOSED');
  });

  it('a RST at the expected sequence number closes the receiver', async () => {
    const r = await run([...handshake(1000, 5000), { from: 's', flags: 'RA', seq: 5001, ack: 1001, t: 0.02 }]);
    const c = r.connections[0]!;
    expect(c.client.state).toBe('CLOSED');
    expect(c.client.ignoredRsts).toBe(0);
    expect(r.findings.map((f) => [f.kind, f.endpoint])).toEqual([['abortive-close', 'server']]);
  });

  it('compares sequence numbers modulo 2^32: a close across the wrap', async () => {
    const ci = 0xffffff00;
    const si = 0xfffffff0;
    const r = await run([
      ...handshake(ci, si),
      { from: 'c', flags: 'PA', seq: ci + 1, ack: si + 1, len: 0x200, t: 0.01 }, // wraps past 2^32
      { from: 's', flags: 'A', seq: si + 1, ack: (ci + 1 + 0x200) >>> 0, t: 0.011 },
      { from: 'c', flags: 'FA', seq: (ci + 1 + 0x200) >>> 0, ack: si + 1, t: 0.02 },
      { from: 's', flags: 'A', seq: si + 1, ack: (ci + 2 + 0x200) >>> 0, t: 0.021 },
      { from: 's', flags: 'FA', seq: si + 1, ack: (ci + 2 + 0x200) >>> 0, t: 0.03 },
      { from: 'c', flags: 'A', seq: (ci + 2 + 0x200) >>> 0, ack: (si + 2) >>> 0, t: 0.031 },
    ]);
    const c = r.connections[0]!;
    expect(c.client.transitions.map((t) => t.to)).toEqual(['SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT']);
    expect(c.server.transitions.map((t) => t.to)).toEqual(['SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
    expect(r.findings.filter((f) => f.severity !== 'info')).toEqual([]);
  });

  it('TIME-WAIT ends on the clock (60 s), not with a packet', async () => {
    const r = await run([
      ...handshake(1, 1000),
      { from: 'c', flags: 'FA', seq: 2, ack: 1001, t: 1 },
      { from: 's', flags: 'FA', seq: 1001, ack: 3, t: 1.001 },
      { from: 'c', flags: 'A', seq: 3, ack: 1002, t: 1.002 },
      // Another connection keeps the clock running past the TIME-WAIT.
      { from: 'c', flags: 'S', seq: 77, t: 100 },
    ]);
    const c = r.connections[0]!;
    const last = c.client.transitions.at(-1)!;
    expect(last).toMatchObject({ from: 'TIME-WAIT', to: 'CLOSED' });
    expect(last.at.frame).toBe(0); // no packet: the clock did it
    expect(last.at.sec).toBe(1700000001 + 60);
  });

  it('a connection first seen mid-stream is partial, both sides ESTABLISHED (inferred)', async () => {
    const r = await run([
      { from: 'c', flags: 'PA', seq: 7000, ack: 9000, len: 10, t: 0 },
      { from: 's', flags: 'A', seq: 9000, ack: 7010, t: 0.001 },
      { from: 's', flags: 'FA', seq: 9000, ack: 7010, t: 0.002 },
      { from: 'c', flags: 'A', seq: 7010, ack: 9001, t: 0.003 },
    ]);
    const c = r.connections[0]!;
    expect(c.partial).toBe(true);
    expect(c.client.inferred).toBe(true);
    expect(c.address('server')).toBe('10.0.0.2:80');
    expect([c.client.state, c.server.state]).toEqual(['CLOSE-WAIT', 'FIN-WAIT-2']);
  });

  it('a new SYN on the tuple of a reset connection opens a new connection', async () => {
    const r = await run([
      { from: 'c', flags: 'S', seq: 10, t: 0 },
      { from: 's', flags: 'RA', seq: 0, ack: 11, t: 0.001 },
      { from: 'c', flags: 'S', seq: 20, t: 0.5 },
      { from: 's', flags: 'SA', seq: 500, ack: 21, t: 0.501 },
      { from: 'c', flags: 'A', seq: 21, ack: 501, t: 0.502 },
    ]);
    expect(r.connections).toHaveLength(2);
    expect(r.connections[0]!.connState).toBe('REJ');
    expect(r.connections[1]!.client.state).toBe('ESTABLISHED');
    expect(r.findings.map((f) => f.kind).sort()).toEqual(['connection-refused', 'port-reuse']);
  });

  it('a SYN sent again with the same ISN after a refusal is the same connect(): one refusal, counted, and no port reuse', async () => {
    const r = await run([
      { from: 'c', flags: 'S', seq: 10, t: 0 },
      { from: 's', flags: 'RA', seq: 0, ack: 11, t: 0.001 },
      { from: 'c', flags: 'S', seq: 10, t: 0.5 },
      { from: 's', flags: 'RA', seq: 0, ack: 11, t: 0.501 },
      { from: 'c', flags: 'S', seq: 10, t: 1 },
      { from: 's', flags: 'SA', seq: 500, ack: 11, t: 1.001 },
      { from: 'c', flags: 'A', seq: 11, ack: 501, t: 1.002 },
    ]);
    expect(r.connections[r.connections.length - 1]!.client.state).toBe('ESTABLISHED');
    expect(r.findings.map((f) => f.kind)).toEqual(['connection-refused']);
    expect(r.findings[0]!.details).toMatchObject({ synsRefused: 2, refusalsOfThisPort: 1 });
    expect(r.findings[0]!.summary).toContain('each of the 2 SYNs of one connect()');
  });

  it('a long run of unanswered retransmissions keeps a bounded packet list on its finding', async () => {
    const steps: Step[] = [...handshake(1, 1000)];
    for (let i = 0; i < 5000; i++) steps.push({ from: 'c', flags: 'PA', seq: 2, ack: 1001, len: 100, t: 1 + i * 0.01 });
    const r = await run(steps);
    const f = r.findings.find((x) => x.kind === 'half-open');
    expect(f?.endpoint).toBe('server');
    expect(f!.details).toMatchObject({ retransmissions: 4999 });
    expect(f!.packets.length).toBeLessThanOrEqual(12);
    expect(f!.packets[0]).toBe(5); // the first retransmission
    expect(f!.packets.at(-1)).toBe(3 + 5000); // the latest
  });

  /** The server sends 10 segments of 100 bytes; the client's ACK says the first 6 were lost. */
  function lossThenAck(): Step[] {
    const steps: Step[] = [...handshake(1, 1000)];
    steps.push({ from: 'c', flags: 'PA', seq: 2, ack: 1001, len: 10, t: 0.01 });
    for (let i = 0; i < 10; i++) steps.push({ from: 's', flags: 'A', seq: 1001 + i * 100, ack: 12, len: 100, t: 0.02 + i * 1e-5 });
    steps.push({ from: 'c', flags: 'A', seq: 12, ack: 1001, t: 0.03 });
    return steps;
  }

  it('lost segments resent back to back, each further on, are one retransmission of the run, not a half-open peer', async () => {
    const steps = lossThenAck();
    // Loss recovery: the six lost segments again, microseconds apart; then the client acknowledges everything.
    for (let i = 0; i < 6; i++) steps.push({ from: 's', flags: 'A', seq: 1001 + i * 100, ack: 12, len: 100, t: 0.031 + i * 1e-6 });
    steps.push({ from: 'c', flags: 'A', seq: 12, ack: 2001, t: 0.04 });
    const r = await run(steps);
    expect(r.findings.filter((f) => f.kind === 'half-open')).toEqual([]);
    expect(r.connections[0]!.server.retransmissions).toBe(6);
  });

  it('the oldest segment resent again and again into silence is a half-open peer, however many follow each time', async () => {
    const steps = lossThenAck();
    // Each timeout resends the oldest unacknowledged segment and, here, the next two with it: 1, 2, 4, 8 s apart.
    let t = 0.03;
    for (const wait of [0.2, 0.4, 0.8, 1.6]) {
      t += wait;
      for (let i = 0; i < 3; i++) steps.push({ from: 's', flags: 'A', seq: 1001 + i * 100, ack: 12, len: 100, t: t + i * 1e-6 });
    }
    const r = await run(steps);
    const f = r.findings.find((x) => x.kind === 'half-open');
    expect(f?.endpoint).toBe('client');
    expect(f!.details).toMatchObject({ retransmissions: 4, backoffSeconds: [0.4, 0.8, 1.6] });
    expect(f!.explanation).toMatch(/800\.0 ms, 1\.60 s between them \(exponential back-off\)/);
  });

  it('calls the waits of a run a back-off only when each is half as long again as the one before', () => {
    expect(pacing([0.2, 0.4, 0.8, 1.6])).toBe('backing-off');
    // ICMP errors undoing the back-off (captures/icmp-unreachable.pcap), keep-alive probes.
    expect(pacing([0.208, 0.204, 0.204, 0.2039])).toBe('even');
    expect(pacing([1, 1, 1])).toBe('even');
    expect(pacing([0.2, 0.8, 0.3])).toBeNull();
    expect(pacing([1.02])).toBeNull();
  });

  it('a silent side that comes back: answering makes the half-open a warning, a RST keeps it an error', async () => {
    const steps = lossThenAck();
    let t = 0.03;
    for (const wait of [0.2, 0.4, 0.8]) steps.push({ from: 's', flags: 'A', seq: 1001, ack: 12, len: 100, t: (t += wait) });
    const answer = (flags: string): Step => ({ from: 'c', flags, seq: 12, ack: flags === 'R' ? 0 : 1001, t: 2 });
    const back = (await run([...steps, answer('A')])).findings.find((x) => x.kind === 'half-open');
    expect(back).toMatchObject({ endpoint: 'client', severity: 'warning', details: { retransmissions: 3, answeredAfterSeconds: 1.77 } });
    expect(back!.summary).toMatch(/answered again$/);
    const reset = (await run([...steps, answer('R')])).findings.find((x) => x.kind === 'half-open');
    expect(reset).toMatchObject({ endpoint: 'client', severity: 'error', details: { answeredAfterSeconds: 1.77 } });
    expect(reset!.summary).toMatch(/reset the connection/);
    // Still silent at the end: an error, never answered, silent until the capture ended (another connection's SYN, 30 s in).
    const silent = (await run([...steps, { from: 'c', flags: 'S', seq: 1, t: 30, port: 40001 }])).findings.find((x) => x.kind === 'half-open');
    expect(silent).toMatchObject({ severity: 'error', details: { answeredAfterSeconds: null, silentSeconds: 29.97 } });
    expect(silent!.explanation).toMatch(/has sent nothing for 30\.0 s/);
  });

  it('a capture that saw each segment twice (within 5 ms) counts each try once', async () => {
    // Three SYNs 1 s apart, each seen twice 0.5 ms apart (a mirror port, two VLANs).
    const syns: Step[] = [];
    for (const t of [0, 1, 2]) syns.push({ from: 'c', flags: 'S', seq: 1, t }, { from: 'c', flags: 'S', seq: 1, t: t + 0.0005 });
    const s = (await run(syns)).findings.find((x) => x.kind === 'syn-timeout');
    expect(s?.details).toMatchObject({ synCount: 3, intervalsSeconds: [1, 1] });
    // One SYN seen twice is no retransmission at all: the end of the capture raises nothing.
    expect((await run(syns.slice(0, 2))).findings).toEqual([]);
    // Two retransmissions into silence, each seen twice: below the threshold of 3.
    const steps = lossThenAck();
    for (const t of [0.23, 0.63]) steps.push({ from: 's', flags: 'A', seq: 1001, ack: 12, len: 100, t }, { from: 's', flags: 'A', seq: 1001, ack: 12, len: 100, t: t + 0.002 });
    expect((await run(steps)).findings.filter((x) => x.kind === 'half-open')).toEqual([]);
  });

  describe('a listener that sends its SYN-ACK again after the client acknowledged it (a full accept queue)', () => {
    /** The handshake, then the client's request and its retransmissions into the listener that has not taken the ACK. */
    function queued(): Step[] {
      return [
        ...handshake(1000, 5000),
        { from: 'c', flags: 'PA', seq: 1001, ack: 5001, len: 25, t: 0.01 },
        { from: 'c', flags: 'PA', seq: 1001, ack: 5001, len: 25, t: 0.21 },
        { from: 'c', flags: 'PA', seq: 1001, ack: 5001, len: 25, t: 0.61 },
        { from: 'c', flags: 'PA', seq: 1001, ack: 5001, len: 25, t: 0.9 },
        // Its SYN-ACK timer (1 s): it never took the ACK. The client acknowledges it again.
        { from: 's', flags: 'SA', seq: 5000, ack: 1001, t: 1.001 },
        { from: 'c', flags: 'A', seq: 1026, ack: 5001, t: 1.002 },
        // Three more into it: a half-open run, were the listener not known to be there.
        { from: 'c', flags: 'PA', seq: 1001, ack: 5001, len: 25, t: 1.4 },
        { from: 'c', flags: 'PA', seq: 1001, ack: 5001, len: 25, t: 1.8 },
        { from: 'c', flags: 'PA', seq: 1001, ack: 5001, len: 25, t: 2.2 },
      ];
    }
    const taken: Step[] = [
      { from: 'c', flags: 'PA', seq: 1001, ack: 5001, len: 25, t: 2.5 },
      { from: 's', flags: 'A', seq: 5001, ack: 1026, t: 2.501 },
    ];
    const server = (r: AnalysisResult): [string, number][] => r.connections[0]!.server.transitions.map((x) => [x.to, x.at.frame]);

    it('holds it in SYN-RECEIVED, whatever the client sends, until its own ACK shows it took the connection', async () => {
      const heard: string[] = [];
      // Captured on the server's host: the client's packets crossed a router (TTL 63), the server's did not.
      const fromServerHost = [...queued(), ...taken].map((x) => (x.from === 'c' ? { ...x, ttl: 63 } : x));
      const r = await run(fromServerHost, { onFinding: (f) => heard.push(f.kind), onWithdraw: (f) => heard.push(`withdrawn ${f.kind}`) });
      expect(server(r)).toEqual([
        ['SYN-RECEIVED', 2],
        ['ESTABLISHED', 3],
        ['SYN-RECEIVED', 8],
        ['ESTABLISHED', 14],
      ]);
      expect(r.connections[0]!.client.state).toBe('ESTABLISHED');
      const f = r.findings.find((x) => x.kind === 'listen-overflow');
      expect(f).toMatchObject({ severity: 'warning', endpoint: 'server', confidence: 'likely', details: { synAcksResent: 1, resentFrame: 8, takenAfterSeconds: 2.499 } });
      expect(f!.summary).toMatch(/did not take the connection until 2\.50 s after the client's ACK/);
      expect(f!.packets).toEqual([2, 3, 4, 8, 14]);
      // Its "answer" was the SYN-ACK: not a silent peer. The half-open raised on the third unanswered
      // retransmission is taken back, and not raised again while the listener resends its SYN-ACK.
      expect(heard).toEqual(['half-open', 'withdrawn half-open', 'listen-overflow']);
      expect(r.findings.map((x) => x.kind)).toEqual(['listen-overflow']);
    });

    it('says so when the capture ends before it took the connection', async () => {
      const r = await run(queued());
      expect(r.connections[0]!.server.state).toBe('SYN-RECEIVED');
      const f = r.findings.find((x) => x.kind === 'listen-overflow');
      // Seen from a point the packets do not reveal (TTL 64 both ways), one connection's SYN-ACK sent
      // again fits an ACK lost on the way as well: info, possible.
      expect(f).toMatchObject({ severity: 'info', confidence: 'possible', details: { takenAfterSeconds: null } });
      expect(f!.summary).toMatch(/had still not taken the connection when the capture ended, 2\.20 s after/);
    });

    it('says so when the client gives up and resets it first', async () => {
      const r = await run([...queued(), { from: 'c', flags: 'RA', seq: 1026, ack: 5001, t: 3 }]);
      expect(r.connections[0]!.server.state).toBe('CLOSED');
      const f = r.findings.find((x) => x.kind === 'listen-overflow');
      expect(f).toMatchObject({ details: { takenAfterSeconds: null } });
      expect(f!.summary).toMatch(/never took the connection: it ended with a RST 3\.00 s after the client's ACK/);
      expect(f!.explanation).toMatch(/The client gave up and reset it \(frame 13\)/);
    });

    it('a bare RST at the first segment, from a server that had sent only its SYN-ACK: it never took the connection', async () => {
      const request: Step = { from: 'c', flags: 'PA', seq: 1001, ack: 5001, len: 25, t: 0.01 };
      const rst: Step = { from: 's', flags: 'R', seq: 5001, t: 0.0101 };
      const never = (await run([...handshake(1000, 5000), request, rst])).findings;
      expect(never).toMatchObject([{ kind: 'peer-reset', endpoint: 'server' }]);
      expect(never[0]!.summary).toMatch(/reset the connection at the client's first segment after the handshake: it had never taken it/);
      expect(never[0]!.explanation).toMatch(/tcp_abort_on_overflow=1/);
      // Once it has answered something, a bare RST means it lost the connection.
      const lost = (await run([...handshake(1000, 5000), request, { from: 's', flags: 'PA', seq: 5001, ack: 1026, len: 7, t: 0.011 }, { ...request, seq: 1026, ack: 5008, t: 5 }, { ...rst, seq: 5008, t: 5.0001 }])).findings;
      expect(lost).toMatchObject([{ kind: 'peer-reset', endpoint: 'server' }]);
      expect(lost[0]!.summary).toMatch(/no longer knew the connection/);
    });

    it('is no such thing when the second SYN-ACK is a copy, or answers a SYN the client sent again', async () => {
      // The same SYN-ACK seen again 50 ms later (the conversation on a second VLAN): no timer fires that soon.
      const copy = await run([...handshake(1000, 5000), { from: 's', flags: 'SA', seq: 5000, ack: 1001, t: 0.051 }, { from: 'c', flags: 'A', seq: 1001, ack: 5001, t: 0.052 }]);
      expect(server(copy)).toEqual([
        ['SYN-RECEIVED', 2],
        ['ESTABLISHED', 3],
      ]);
      // The client's SYN timer fired as the SYN-ACK came: the server answers that SYN with its SYN-ACK.
      const crossed = await run([
        { from: 'c', flags: 'S', seq: 1000, t: 0 },
        { from: 's', flags: 'SA', seq: 5000, ack: 1001, t: 0.999 },
        { from: 'c', flags: 'S', seq: 1000, t: 1 },
        { from: 'c', flags: 'A', seq: 1001, ack: 5001, t: 1.0001 },
        { from: 's', flags: 'SA', seq: 5000, ack: 1001, t: 1.3 },
      ]);
      expect(crossed.connections[0]!.server.state).toBe('ESTABLISHED');
      expect(crossed.findings).toEqual([]);
    });
  });
});

