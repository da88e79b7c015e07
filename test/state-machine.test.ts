/**
 * Edge cases of the endpoint state machines that the real-kernel scenarios do not
 * reach: unacceptable RSTs, sequence wrap-around, TIME-WAIT ending on the clock,
 * connections first seen mid-stream, a tuple used again after a reset. Synthetic
 * conversations, written as pcaps; the detectors' edge cases are in test/detectors/.
 */
import { describe, expect, it } from 'vitest';
import { conversations, handshake } from './helpers/conversation.js';

const run = conversations();

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
});
