import type { FindingKind, FindingOf } from './finding.js';

/** What a revision of a raised finding may change: how bad and how sure, its text, its facts and details. */
export type Revision<K extends FindingKind> = Partial<Pick<FindingOf<K>, 'severity' | 'confidence' | 'alternatives' | 'evidence' | 'summary' | 'explanation' | 'details' | 'prose' | 'caveats'>>;
