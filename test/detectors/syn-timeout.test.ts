/** syn-timeout: SYN retransmissions counted once however often the capture saw each, on synthetic conversations. */
import { describe, expect, it } from 'vitest';
import { conversations, lossThenAck, type Step } from '../helpers/conversation.js';

const run = conversations();

describe('syn-timeout', () => {
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

});
