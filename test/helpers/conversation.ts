/**
 * Synthetic TCP conversations between one client and one server, written as pcaps
 * and analysed whole: for the edge cases of the state machines and the detectors
 * that the real-kernel scenarios do not reach.
 */
import { expect } from 'vitest';
import { analyzeCaptures, type AnalysisResult, type AnalyzeHooks } from '../../src/analyze.js';
import { ipv4, tcp } from './ip-packets.js';
import { asV4, ethernet } from './link-layers.js';
import { pcapFile, type PcapRecordSpec } from './pcap.js';
import { useTempDir } from './temp-dir.js';

export interface Step {
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

/** Analyse `steps` as one capture; expects the capture to read without errors. */
export type Converse = (steps: Step[], hooks?: AnalyzeHooks) => Promise<AnalysisResult>;

/** A Converse writing its pcaps in a temporary directory removed after the test file (call at module level). */
export function conversations(): Converse {
  const tmp = useTempDir();
  let n = 0;
  return async (steps, hooks) => {
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
    const file = tmp.write(`conv-${n++}.pcap`, pcapFile(records));
    const r = await analyzeCaptures([file], undefined, undefined, hooks);
    expect(r.captures[0]!.errors).toEqual([]);
    return r;
  };
}

/** A handshake with the given ISNs, at t = 0. */
export function handshake(ci: number, si: number): Step[] {
  return [
    { from: 'c', flags: 'S', seq: ci, t: 0 },
    { from: 's', flags: 'SA', seq: si, ack: ci + 1, t: 0.001 },
    { from: 'c', flags: 'A', seq: ci + 1, ack: si + 1, t: 0.002 },
  ];
}

/** The server sends 10 segments of 100 bytes; the client's ACK says the first 6 were lost. */
export function lossThenAck(): Step[] {
  const steps: Step[] = [...handshake(1, 1000)];
  steps.push({ from: 'c', flags: 'PA', seq: 2, ack: 1001, len: 10, t: 0.01 });
  for (let i = 0; i < 10; i++) steps.push({ from: 's', flags: 'A', seq: 1001 + i * 100, ack: 12, len: 100, t: 0.02 + i * 1e-5 });
  steps.push({ from: 'c', flags: 'A', seq: 12, ack: 1001, t: 0.03 });
  return steps;
}
