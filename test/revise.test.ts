/**
 * A raised finding changes only through the engine (DetectContext.revise), so live
 * mode hears of it: its figures (the metrics and the final report) count the finding
 * at the severity it has now.
 */
import { describe, expect, it } from 'vitest';
import { DetectorEngine } from '../src/detect/engine.js';
import type { Finding, Severity } from '../src/detect/finding.js';
import { FigureCounts } from '../src/live/figures.js';

function finding(severity: Severity): Finding {
  return {
    kind: 'half-open',
    severity,
    connection: 1,
    stream: 0,
    endpoint: 'server',
    endpointAddress: '10.0.0.2:80',
    capture: 0,
    packets: [3],
    otherPackets: [],
    sec: 1700000000,
    nsec: 0,
    confidence: 'likely',
    alternatives: [],
    evidence: [],
    summary: 'silent',
    explanation: 'silent',
    details: { retransmissions: 3, backoffSeconds: [0.2, 0.4], silentSeconds: 1, gaveUpWithRst: false, icmpUnreachable: false, answeredAfterSeconds: null },
  };
}

describe('revise', () => {
  it('changes the finding and tells onRevise the severity it had', () => {
    const engine = new DetectorEngine();
    const heard: [Finding, Severity][] = [];
    engine.onRevise = (f, before) => void heard.push([f, before]);
    const f = finding('error');
    engine.revise(f, { severity: 'warning', summary: 'answered again' });
    expect(f.severity).toBe('warning');
    expect(f.summary).toBe('answered again');
    expect(heard).toEqual([[f, 'error']]);
  });

  it('moves the live figures\' count to the new severity, and leaves them alone when it is the same', () => {
    const counts = new FigureCounts();
    const a = finding('error');
    const b = finding('error');
    counts.finding(a);
    counts.finding(b);
    a.severity = 'warning';
    counts.revised(a, 'error');
    expect(counts.findings()).toEqual([
      { kind: 'half-open', severity: 'error', count: 1 },
      { kind: 'half-open', severity: 'warning', count: 1 },
    ]);
    counts.revised(b, 'error');
    b.severity = 'warning';
    counts.revised(b, 'error');
    expect(counts.findings()).toEqual([{ kind: 'half-open', severity: 'warning', count: 2 }]);
  });
});
