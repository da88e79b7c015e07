/**
 * A box-drawn table of single-line cells, drawn exactly as cli-table3 draws one with
 * its default characters, one space of padding and no colours, but in time linear in
 * its rows: cli-table3's layout checks every cell against every other one for spans,
 * which took minutes at 20,000 connections and would take hours at 200,000.
 */

/** Printable ASCII only: one column per character, nothing to clean. Nearly every cell is. */
const PLAIN = /^[\x20-\x7e]*$/;

/** Terminal columns a cell takes: wide (East Asian, emoji) code points take two, control characters none. */
export function displayWidth(s: string): number {
  if (PLAIN.test(s)) return s.length;
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0x300 && c < 0x370) || c === 0x200b || c === 0xfe0f) continue;
    w += isWide(c) ? 2 : 1;
  }
  return w;
}

function isWide(c: number): boolean {
  return (
    c >= 0x1100 &&
    (c <= 0x115f ||
      c === 0x2329 ||
      c === 0x232a ||
      (c >= 0x2e80 && c <= 0x303e) ||
      (c >= 0x3041 && c <= 0x33ff) ||
      (c >= 0x3400 && c <= 0x4dbf) ||
      (c >= 0x4e00 && c <= 0x9fff) ||
      (c >= 0xa000 && c <= 0xa4cf) ||
      (c >= 0xac00 && c <= 0xd7a3) ||
      (c >= 0xf900 && c <= 0xfaff) ||
      (c >= 0xfe30 && c <= 0xfe4f) ||
      (c >= 0xff00 && c <= 0xff60) ||
      (c >= 0xffe0 && c <= 0xffe6) ||
      (c >= 0x1f300 && c <= 0x1f64f) ||
      (c >= 0x1f900 && c <= 0x1f9ff) ||
      (c >= 0x20000 && c <= 0x3fffd))
  );
}

/** Cells are one line: a newline or tab in one would break the box, so they become spaces. */
function clean(v: string | number): string {
  const s = String(v);
  return PLAIN.test(s) ? s : unplain(s);
}

function unplain(s: string): string {
  return s.replace(/[\r\n\t]/g, ' ');
}

/**
 * The cell as drawn goes to `cell`, and its width is returned: one look at a plain
 * cell (tens of thousands of rows, eleven cells each, twice over).
 */
let cell = '';
function take(v: string | number): number {
  const s = typeof v === 'string' ? v : String(v);
  if (PLAIN.test(s)) {
    cell = s;
    return s.length;
  }
  cell = unplain(s);
  return displayWidth(cell);
}

/** Padding, made once per width: most cells of a column need one of a few. */
const PADS: string[] = [];
function spaces(n: number): string {
  if (n <= 0) return '';
  if (n >= 256) return ' '.repeat(n);
  return (PADS[n] ??= ' '.repeat(n));
}

export class BoxTable {
  private readonly rows: string[][] = [];
  private readonly widths: number[];

  constructor(private readonly head: readonly string[]) {
    this.widths = head.map((h) => displayWidth(h));
  }

  push(row: ReadonlyArray<string | number>): void {
    const cells = this.cells(row);
    this.measure(cells);
    this.rows.push(cells);
  }

  /** Widen the columns for `row` without keeping it: writeRows then takes the rows again. */
  measure(row: ReadonlyArray<string | number>): void {
    const widths = this.widths;
    for (let i = 0; i < widths.length; i++) {
      const w = take(row[i] ?? '');
      if (w > widths[i]!) widths[i] = w;
    }
  }

  /** Hand on the head and `rows` (each one measured before), line by line, no final newline on any. */
  writeRows(rows: Iterable<ReadonlyArray<string | number>>, each: (line: string) => void): void {
    const between = this.rule('├', '┼', '┤');
    each(this.rule('┌', '┬', '┐'));
    each(this.line(this.head));
    for (const r of rows) {
      each(between);
      each(this.rowLine(r));
    }
    each(this.rule('└', '┴', '┘'));
  }

  private cells(row: ReadonlyArray<string | number>): string[] {
    const out = new Array<string>(this.head.length);
    for (let i = 0; i < out.length; i++) out[i] = clean(row[i] ?? '');
    return out;
  }

  get length(): number {
    return this.rows.length;
  }

  private rule(left: string, mid: string, right: string): string {
    return left + this.widths.map((w) => '─'.repeat(w + 2)).join(mid) + right;
  }

  /** A row's line, each cell cleaned and measured once. */
  private rowLine(row: ReadonlyArray<string | number>): string {
    const widths = this.widths;
    let s = '│';
    for (let i = 0; i < widths.length; i++) {
      const w = take(row[i] ?? '');
      s += ` ${cell}${spaces(widths[i]! - w)} │`;
    }
    return s;
  }

  private line(cells: readonly string[]): string {
    let s = '│';
    for (let i = 0; i < cells.length; i++) {
      const c = cells[i]!;
      s += ` ${c}${spaces(this.widths[i]! - displayWidth(c))} │`;
    }
    return s;
  }

  /** Hand the pushed rows on line by line (no final newline on any). */
  writeLines(each: (line: string) => void): void {
    this.writeRows(this.rows, each);
  }

  toString(): string {
    const lines: string[] = [];
    this.writeLines((l) => lines.push(l));
    return lines.join('\n');
  }
}
