import type { AnalysisResult } from '../analyze.js';
import type { DetectOptions } from '../detect/options.js';
import { renderHtml } from './html.js';
import { DEFAULT_REPORT_LIMITS, type ReportLimits } from './incident.js';
import { collectLadders } from './ladder.js';
import { renderMarkdown } from './markdown.js';
import { makeView, type ViewOptions } from './view.js';

/**
 * The Markdown or HTML incident report of an analysis: a second pass over the
 * captures (`paths`, re-readable: see replay.ts) gathers the packets of the
 * connections that get a ladder diagram.
 */
export async function renderIncidentReport(
  format: 'md' | 'html',
  paths: string[],
  options: DetectOptions,
  result: AnalysisResult,
  view: ViewOptions,
  limits: ReportLimits = DEFAULT_REPORT_LIMITS,
): Promise<string> {
  const ladders = await collectLadders(paths, options, makeView(result, view), limits);
  return format === 'md' ? renderMarkdown(result, view, ladders, limits) : renderHtml(result, view, ladders, limits);
}
