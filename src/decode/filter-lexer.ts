/**
 * The words of a capture filter expression (see packet-filter.ts), and the one-line
 * errors that point at one of them.
 */

/** A filter expression that cannot be used; the message is one line naming the word and its position. */
export class FilterSyntaxError extends Error {
  override readonly name = 'FilterSyntaxError';
}

export const T_WORD = 0;
export const T_LPAREN = 1;
export const T_RPAREN = 2;
export const T_AND = 3;
export const T_OR = 4;
export const T_NOT = 5;
export const T_SLASH = 6;
/** Any other character: arithmetic, comparisons, byte offsets. */
export const T_OTHER = 7;
export const T_END = 8;

export interface Token {
  type: number;
  text: string;
  /** 0-based offset in the expression. */
  pos: number;
}

const WORD_CHAR = /[A-Za-z0-9_.:%-]/;

export function lex(expr: string): Token[] {
  const toks: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const pos = i;
    const two = expr.slice(i, i + 2);
    if (c === '(') toks.push({ type: T_LPAREN, text: c, pos });
    else if (c === ')') toks.push({ type: T_RPAREN, text: c, pos });
    else if (c === '/') toks.push({ type: T_SLASH, text: c, pos });
    else if (two === '&&' || two === '||' || two === '!=') {
      toks.push({ type: two === '&&' ? T_AND : two === '||' ? T_OR : T_OTHER, text: two, pos });
      i += 2;
      continue;
    } else if (c === '!') toks.push({ type: T_NOT, text: c, pos });
    else if (WORD_CHAR.test(c)) {
      let j = i + 1;
      while (j < expr.length && WORD_CHAR.test(expr[j]!)) j++;
      const w = expr.slice(i, j);
      toks.push({ type: w === 'and' ? T_AND : w === 'or' ? T_OR : w === 'not' ? T_NOT : T_WORD, text: w, pos });
      i = j;
      continue;
    } else toks.push({ type: T_OTHER, text: c, pos });
    i++;
  }
  toks.push({ type: T_END, text: '', pos: expr.length });
  return toks;
}

function where(t: Token): string {
  return t.type === T_END ? 'at the end' : `at character ${t.pos + 1}`;
}

export function fail(t: Token, problem: string, text = t.text): FilterSyntaxError {
  return new FilterSyntaxError(t.type === T_END ? `at the end: ${problem}` : `"${text}" ${where(t)}: ${problem}`);
}

export function describe(t: Token): string {
  return t.type === T_END ? 'the end of the expression' : `"${t.text}" ${where(t)}`;
}

/** The tokens of an expression and the parser's place in them (the last token is T_END). */
export class TokenCursor {
  /** Index of the next token. */
  i = 0;

  constructor(readonly toks: Token[]) {}

  peek(ahead = 0): Token {
    return this.toks[Math.min(this.i + ahead, this.toks.length - 1)]!;
  }

  /** The token read last (the caller knows one was). */
  previous(): Token {
    return this.toks[this.i - 1]!;
  }
}
