/**
 * The grammar of a capture filter (see packet-filter.ts): and/or/not, parentheses,
 * primitives and their qualifiers, and an id alone repeating the qualifiers before it.
 * The values after the qualifiers are read by filter-values.ts.
 */
import { describe, fail, type FilterSyntaxError, T_AND, T_END, T_LPAREN, T_NOT, T_OR, T_OTHER, T_RPAREN, T_SLASH, T_WORD, type Token, TokenCursor } from './filter-lexer.js';
import { AndNode, DIR_ANY, DIR_BOTH, DIR_DST, DIR_SRC, type FilterNode, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_UDP, IpProtocolNode, IpVersionNode, NotNode, OrNode, TcpNode } from './filter-nodes.js';
import { hostValue, netValue, portRangeValue, portValue } from './filter-values.js';
import { A_DEFAULT, A_NET, A_PORT, A_PORTRANGE, isKeyword, KINDS, P_DEFAULT, P_ICMP, P_IP, P_IP6, P_SCTP, P_TCP, P_UDP, PROTOCOLS, type Qualifiers, SUPPORTED, UNSUPPORTED } from './filter-words.js';

/** Builds the tree of nodes from the tokens of one expression; each instance parses once. */
export class Parser {
  private readonly c: TokenCursor;
  /**
   * The qualifiers an id alone repeats: those of the last primitive parsed, null when
   * there is none or it was a bare protocol (`tcp and 80` is an error, as in libpcap).
   */
  private q: Qualifiers | null = null;
  /** The bare protocol word that left `q` null, for the message. */
  private bare = '';

  constructor(toks: Token[]) {
    this.c = new TokenCursor(toks);
  }

  parse(): FilterNode {
    const n = this.expr();
    const t = this.c.peek();
    if (t.type === T_RPAREN) throw fail(t, 'no matching "("');
    if (t.type === T_WORD && UNSUPPORTED.has(t.text)) throw fail(t, `not supported; ${SUPPORTED}`);
    if (t.type === T_OTHER || t.type === T_SLASH) throw fail(t, `arithmetic, comparisons and byte offsets (tcp[13] & 2, len > 100) are not supported; ${SUPPORTED}`);
    if (t.type !== T_END) throw fail(t, 'expected "and" or "or" before it');
    return n;
  }

  private expr(): FilterNode {
    let left = this.unary();
    for (;;) {
      const t = this.c.peek();
      if (t.type !== T_AND && t.type !== T_OR) return left;
      this.c.i++;
      const right = this.unary();
      left = t.type === T_AND ? new AndNode(left, right) : new OrNode(left, right);
    }
  }

  private unary(): FilterNode {
    if (this.c.peek().type === T_NOT) {
      this.c.i++;
      return new NotNode(this.unary());
    }
    return this.primary();
  }

  private primary(): FilterNode {
    const t = this.c.peek();
    switch (t.type) {
      case T_LPAREN: {
        this.c.i++;
        const n = this.expr();
        const c = this.c.peek();
        if (c.type === T_END) throw fail(t, 'never closed');
        if (c.type !== T_RPAREN) throw fail(c, 'expected "and", "or" or ")" before it');
        this.c.i++;
        return n;
      }
      case T_WORD:
        return this.primitive();
      case T_SLASH:
        throw fail(t, 'a prefix length only follows a net address, as in "net 10.0.0.0/8"');
      case T_OTHER:
        throw fail(t, `arithmetic, comparisons and byte offsets (tcp[13] & 2, len > 100) are not supported; ${SUPPORTED}`);
      default:
        throw this.missingOperand(t);
    }
  }

  /** Where an expression should start but `t` (an operator, ")" or the end) is. */
  private missingOperand(t: Token): FilterSyntaxError {
    const prev = this.c.i > 0 ? this.c.previous() : null;
    if (prev === null) return fail(t, 'nothing before it');
    if (prev.type === T_LPAREN) return t.type === T_RPAREN ? fail(prev, 'empty parentheses') : t.type === T_END ? fail(prev, 'never closed') : fail(t, 'nothing before it');
    if (t.type === T_END) return fail(prev, 'nothing follows it');
    return fail(prev, `nothing between it and ${describe(t)}`);
  }

  private primitive(): FilterNode {
    const t = this.c.peek();
    const w = t.text;
    const proto = PROTOCOLS.get(w);
    if (proto !== undefined) {
      this.c.i++;
      const n = this.c.peek();
      if (n.type === T_WORD && (n.text === 'src' || n.text === 'dst' || KINDS.has(n.text))) return this.qualified(proto, w);
      if (n.type === T_WORD && UNSUPPORTED.has(n.text)) throw fail(n, `not supported after "${w}"; ${SUPPORTED}`);
      if (n.type === T_OTHER && n.text === '[') throw fail(t, `byte offsets (${w}[...]) are not supported; ${SUPPORTED}`, `${w}[`);
      this.q = null;
      this.bare = w;
      return protocolNode(proto);
    }
    if (w === 'src' || w === 'dst' || KINDS.has(w)) return this.qualified(P_DEFAULT, '');
    if (UNSUPPORTED.has(w)) throw fail(t, `not supported; ${SUPPORTED}`);
    if (w === 'mask') throw fail(t, 'only follows a net address, as in "net 10.0.0.0 mask 255.0.0.0"');
    if (this.q !== null) return this.id(this.q);
    if (/^[0-9]/.test(w) || w.includes(':')) {
      const why = this.bare === '' ? '' : ` (a value alone repeats the qualifiers of the primitive before it, and "${this.bare}" has none)`;
      throw fail(t, `needs a qualifier such as host, net, port or portrange${why}`);
    }
    const lower = w.toLowerCase();
    if (lower !== w && (isKeyword(lower) || lower === 'and' || lower === 'or' || lower === 'not')) throw fail(t, `keywords are lower case: write "${lower}"`);
    throw fail(t, `unknown word; ${SUPPORTED}`);
  }

  /** [protocol] [dir] [kind] id, the protocol word (if any) already read. */
  private qualified(proto: number, protoWord: string): FilterNode {
    const words: string[] = protoWord === '' ? [] : [protoWord];
    let dir = DIR_ANY;
    let t = this.c.peek();
    if (t.type === T_WORD && (t.text === 'src' || t.text === 'dst')) {
      this.c.i++;
      dir = t.text === 'src' ? DIR_SRC : DIR_DST;
      words.push(t.text);
      const op = this.c.peek();
      const other = this.c.peek(1);
      if ((op.type === T_AND || op.type === T_OR) && other.type === T_WORD && other.text === (dir === DIR_SRC ? 'dst' : 'src')) {
        this.c.i += 2;
        words.push(op.text, other.text);
        dir = op.type === T_AND ? DIR_BOTH : DIR_ANY;
      }
      t = this.c.peek();
    }
    let kind = A_DEFAULT;
    const k = t.type === T_WORD ? KINDS.get(t.text) : undefined;
    if (k !== undefined) {
      this.c.i++;
      kind = k;
      words.push(t.text);
    } else if (t.type === T_WORD && UNSUPPORTED.has(t.text)) {
      throw fail(t, `not supported; ${SUPPORTED}`);
    }
    const q: Qualifiers = { proto, dir, kind, protoWord, words: words.join(' ') };
    this.q = q;
    return this.id(q);
  }

  /** The id after qualifiers: a value, a negated id, or ids in parentheses. */
  private id(q: Qualifiers): FilterNode {
    const t = this.c.peek();
    if (t.type === T_NOT) {
      this.c.i++;
      return new NotNode(this.id(q));
    }
    if (t.type === T_LPAREN) {
      this.c.i++;
      let n = this.id(q);
      for (;;) {
        const op = this.c.peek();
        if (op.type === T_RPAREN) break;
        if (op.type === T_END) throw fail(t, 'never closed');
        if (op.type !== T_AND && op.type !== T_OR) throw fail(op, 'expected "and", "or" or ")" before it');
        this.c.i++;
        const r = this.id(q);
        n = op.type === T_AND ? new AndNode(n, r) : new OrNode(n, r);
      }
      this.c.i++;
      return n;
    }
    const what = q.kind === A_PORT || q.kind === A_PORTRANGE ? 'a port' : 'an address';
    if (t.type !== T_WORD || isKeyword(t.text)) {
      const after = this.c.i > 0 ? this.c.previous() : t;
      if (t.type === T_END) throw fail(after, `expected ${what} after it`);
      throw fail(t, `expected ${what} after "${after.text}"`);
    }
    this.c.i++;
    switch (q.kind) {
      case A_NET:
        return netValue(this.c, q, t);
      case A_PORT:
        return portValue(q, t);
      case A_PORTRANGE:
        return portRangeValue(q, t);
      default:
        return hostValue(this.c, q, t);
    }
  }
}

/** The node of a protocol word alone. */
function protocolNode(proto: number): FilterNode {
  switch (proto) {
    case P_TCP:
      return new TcpNode();
    case P_IP:
      return new IpVersionNode(4);
    case P_IP6:
      return new IpVersionNode(6);
    case P_UDP:
      return new IpProtocolNode(IPPROTO_UDP, 0, 'udp');
    case P_SCTP:
      return new IpProtocolNode(IPPROTO_SCTP, 0, 'sctp');
    case P_ICMP:
      return new IpProtocolNode(IPPROTO_ICMP, 4, 'icmp');
    default:
      return new IpProtocolNode(IPPROTO_ICMPV6, 6, 'icmp6');
  }
}
