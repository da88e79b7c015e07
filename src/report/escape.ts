/**
 * Escaping for the HTML and Markdown reports. Every string that comes from a
 * capture (file names, interface names and descriptions, comments, addresses)
 * and every text a detector wrote passes through one of these.
 */

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Control characters (C0 other than tab/newline, DEL, C1) that have no business in a report. */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

/** Text and attribute values for HTML and SVG: & < > " ' escaped, control characters made visible. */
export function escapeHtml(s: string): string {
  return s.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).replace(/[&<>"']/g, (c) => HTML[c]!);
}

/** Control characters (terminal escapes included) shown as \xNN, for plain-text output. */
export function plainText(s: string): string {
  return s.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Inline Markdown text: markup characters backslash-escaped and < > & written as
 * entities, so neither Markdown nor the HTML an issue tracker allows in it can
 * come from a capture. Newlines become spaces.
 */
export function escapeMarkdown(s: string): string {
  return plainText(s)
    .replace(/\r?\n/g, ' ')
    .replace(/[\\`*_[\]|~]/g, (c) => `\\${c}`)
    .replace(/[&<>]/g, (c) => HTML[c]!);
}

/** A fence longer than any run of backticks in `body`, for a Markdown code block. */
export function codeFence(body: string): string {
  let longest = 0;
  for (const m of body.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  return '`'.repeat(Math.max(3, longest + 1));
}
