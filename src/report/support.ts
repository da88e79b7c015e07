import type { Finding } from '../detect/finding.js';

/** A finding's grounds as report lines: how sure, the facts with their packets, and what else fits. */
export interface SupportText {
  confidence: string;
  evidence: string[];
  alternatives: string | null;
}

export function supportText(f: Finding, multi: boolean): SupportText {
  const where = (capture: number, frame: number | null): string => (frame === null ? 'over time' : multi ? `frame ${frame} of capture ${capture + 1}` : `frame ${frame}`);
  return {
    confidence: f.confidence,
    evidence: f.evidence.map((e) => `${where(e.capture, e.frame)}: ${e.fact}`),
    alternatives: f.alternatives.length ? f.alternatives.join('; ') : null,
  };
}
