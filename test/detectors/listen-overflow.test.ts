/** listen-overflow: a listener that did not take an acknowledged connection (a full accept queue), on synthetic conversations. */
import { describe, expect, it } from 'vitest';
import type { AnalysisResult } from '../../src/analyze.js';
import { conversations, handshake, type Step } from '../helpers/conversation.js';

const run = conversations();

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
