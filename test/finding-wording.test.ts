import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../src/analyze.js';
import { CAPTURES, CORPUS, HAVE_CORPUS } from './helpers/env.js';

/** Sentences that must fit the packets they explain, checked where a capture shows the case. */

async function explanations(file: string, kind: string): Promise<string[]> {
  const r = await analyzeCaptures([file]);
  return r.findings.filter((f) => f.kind === kind).map((f) => f.explanation);
}

describe('finding wording follows the packets', () => {
  it('a refusal on a routable address advises a wildcard bind (busy-server.pcap)', async () => {
    const ex = await explanations(join(CAPTURES, 'busy-server.pcap'), 'connection-refused');
    // Its ten refused connections (test/busy-capture.test.ts), each explained alike.
    expect(ex).toHaveLength(10);
    for (const e of ex) expect(e).toContain('0.0.0.0 or :: rather than 127.0.0.1');
  });

  it.skipIf(!HAVE_CORPUS)(`a refusal on loopback does not: a socket bound to 127.0.0.1 accepts loopback${HAVE_CORPUS ? '' : ' (skipped: no ../shared/corpus)'}`, async () => {
    const ex = await explanations(join(CORPUS, 'tcpdump', 'of13_ericsson.pcapng'), 'connection-refused');
    expect(ex.length).toBe(1);
    expect(ex[0]).not.toContain('rather than 127.0.0.1');
  });

  it.skipIf(!HAVE_CORPUS)(`a FIN never acknowledged nor resent is said before the vantage, one router from the client (zeek/pppoe-over-qinq.pcap)${HAVE_CORPUS ? '' : ' (skipped: no ../shared/corpus)'}`, async () => {
    const ex = await explanations(join(CORPUS, 'zeek', 'pppoe-over-qinq.pcap'), 'half-open');
    expect(ex.length).toBe(1);
    expect(ex[0]).toContain("The client's own FIN was never acknowledged either, yet it never sent it again");
    expect(ex[0]).not.toContain('reached its host');
  });
});
