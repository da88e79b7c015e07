/**
 * The lines live capture prints as findings come and go (no capture device needed): a
 * finding taken back gets a line that names it by kind, connection and time, as the
 * line that printed it did.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../src/analyze.js';
import type { Finding } from '../src/detect/finding.js';
import { findingLine, withdrawnLine, withdrawnRecord } from '../src/live/output.js';
import { CAPTURES } from './helpers/env.js';

describe('live output', () => {
  it('a half-open taken back when the listener resent its SYN-ACK gets a line after the one that printed it', async () => {
    // Real kernel: the client's third retransmission into the full accept queue came before the SYN-ACK.
    const heard: { line: string; f: Finding }[] = [];
    await analyzeCaptures([join(CAPTURES, 'accept-queue-full.pcap')], undefined, undefined, {
      onFinding: (f) => heard.push({ line: findingLine(f), f }),
      onWithdraw: (f) => heard.push({ line: withdrawnLine(f), f }),
    });
    expect(heard.map((h) => h.line.split(' ').slice(1, 3).join(' '))).toEqual(['error half-open', 'withdrawn half-open', 'warning listen-overflow']);
    const [printed, taken] = heard;
    // The same finding, the same time of day and connection as the line it takes back.
    expect(taken!.f).toBe(printed!.f);
    expect(taken!.line.split(' ')[0]).toBe(printed!.line.split(' ')[0]);
    expect(taken!.line).toMatch(/^\S+ withdrawn half-open #1: a later packet showed otherwise \(see the findings after it\)$/);
    expect(JSON.parse(withdrawnRecord(taken!.f))).toEqual({ type: 'withdrawn', kind: 'half-open', connection: 1, time: expect.stringMatching(/^\d+\.\d{9}$/) });
  });
});
