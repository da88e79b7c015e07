/** connection-refused: refusals of one connect() counted as one, on synthetic conversations. */
import { describe, expect, it } from 'vitest';
import { conversations } from '../helpers/conversation.js';

const run = conversations();

describe('connection-refused', () => {
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

});
