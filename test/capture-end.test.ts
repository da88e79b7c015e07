/**
 * A pcapng's interface statistics block says when the capture stopped (isb_endtime,
 * as dumpcap and `tcpsleuth live -w` write it). The silence between the last packet
 * and then is evidence: the analysis runs its clock to that time, so a file gives
 * the findings that live capture gave at the moment it stopped.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../src/analyze.js';
import { DEFAULT_DETECT_OPTIONS } from '../src/detect/options.js';
import { cat } from './helpers/bytes.js';
import { Pcapng } from './helpers/pcapng.js';
import { useTempDir } from './helpers/temp-dir.js';
import { CAPTURES } from './helpers/env.js';

const tmp = useTempDir();
const ISB_ENDTIME = 3;

/** captures/close-wait-stuck.pcap as pcapng (microseconds), with an ISB at `isb` microseconds after the last packet. */
function withIsb(afterLastUs: bigint | null, endtimeOption = true): string {
  const b = readFileSync(join(CAPTURES, 'close-wait-stuck.pcap'));
  const ng = new Pcapng(true);
  const blocks: Buffer[] = [ng.shb(), ng.idb({ linkType: b.readUInt32LE(20) & 0xffff, snaplen: 262144 })];
  let last = 0n;
  for (let o = 24; o + 16 <= b.length; ) {
    const len = b.readUInt32LE(o + 8);
    const ts = BigInt(b.readUInt32LE(o)) * 1_000_000n + BigInt(b.readUInt32LE(o + 4));
    blocks.push(ng.epb({ ts, data: b.subarray(o + 16, o + 16 + len), origLen: b.readUInt32LE(o + 12) }));
    last = ts;
    o += 16 + len;
  }
  if (afterLastUs !== null) {
    const end = last + afterLastUs;
    // Statistics taken at the end; isb_endtime says the same (or is absent: the block's own time counts).
    blocks.push(ng.isb({ ts: end, options: endtimeOption ? [[ISB_ENDTIME, cat(ng.u32(Number(end >> 32n)), ng.u32(Number(end & 0xffffffffn)))]] : [] }));
  }
  return tmp.write(`cw-${afterLastUs}-${endtimeOption}.pcapng`, cat(...blocks));
}

const options = { ...DEFAULT_DETECT_OPTIONS, closeWaitSeconds: 10 };
const stuck = async (file: string): Promise<number | null> => {
  const r = await analyzeCaptures([file], options);
  const f = r.findings.find((x) => x.kind === 'close-wait-stuck');
  return f && f.kind === 'close-wait-stuck' ? f.details.secondsInCloseWait : null;
};

describe('the end of a capture is when it stopped, not its last packet (pcapng ISB)', () => {
  it('CLOSE-WAIT that lasts past the last packet until the capture stopped is stuck', async () => {
    // At the last packet the server has been in CLOSE-WAIT for about 2 s: under the 10 s threshold.
    expect(await stuck(withIsb(null))).toBeNull();
    const secs = await stuck(withIsb(30_000_000n));
    expect(secs).not.toBeNull();
    expect(secs!).toBeGreaterThan(30);
    expect(secs!).toBeLessThan(34);
    // Without isb_endtime, the block's own timestamp says when the statistics (the end) were taken.
    expect(await stuck(withIsb(30_000_000n, false))).toBeCloseTo(secs!, 3);
    const r = await analyzeCaptures([withIsb(30_000_000n)], options);
    // What the capture contains is unchanged: its last packet is still its last packet.
    expect(r.captures[0]!.last).toEqual((await analyzeCaptures([withIsb(null)], options)).captures[0]!.last);
    expect(r.end!.sec - r.captures[0]!.last![0]).toBeGreaterThanOrEqual(29);
  });

  it('an end time before the last packet, or absurdly late, changes nothing', async () => {
    expect(await stuck(withIsb(-1_000_000n))).toBeNull();
    const far = await analyzeCaptures([withIsb(30n * 24n * 3600n * 1_000_000n)], options);
    expect(far.findings.some((f) => f.kind === 'close-wait-stuck')).toBe(false);
    expect(far.captures[0]!.warnings.map((w) => w.message)).toEqual([expect.stringContaining('past its last packet: end time ignored')]);
  });
});
