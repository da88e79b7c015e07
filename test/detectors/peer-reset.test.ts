/** peer-reset: a RST from a server that had never taken the connection, or no longer knew it, on synthetic conversations. */
import { describe, expect, it } from 'vitest';
import { conversations, handshake, type Step } from '../helpers/conversation.js';

const run = conversations();

describe('peer-reset', () => {
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
});
