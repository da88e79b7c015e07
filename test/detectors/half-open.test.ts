/** half-open: a peer that stopped answering, told apart from loss recovery, on synthetic conversations. */
import { describe, expect, it } from 'vitest';
import { pacing } from '../../src/detect/detector.js';
import { conversations, handshake, lossThenAck, type Step } from '../helpers/conversation.js';

const run = conversations();

describe('half-open', () => {
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

});
