/**
 * The value after a capture filter's qualifiers (see packet-filter.ts): a host, a
 * network (with /len or mask), a port or a port range, checked against the qualifiers
 * and turned into a node; numbers are read as libpcap reads them.
 */
import { hasHostBits, masked, netText, parseIpv4Parts, parseIpv6, partsValue, prefixMask, u32Bytes } from './filter-address.js';
import { fail, T_END, T_SLASH, T_WORD, type Token, type TokenCursor } from './filter-lexer.js';
import { AddressNode, type FilterNode, PORT_ANY, PORT_SCTP, PORT_TCP, PORT_UDP, PortNode } from './filter-nodes.js';
import { A_DEFAULT, P_DEFAULT, P_IP, P_IP6, P_SCTP, P_TCP, P_UDP, type Qualifiers } from './filter-words.js';

/** A number as libpcap reads one: 0x hex, leading-0 octal, else decimal; null when the word is no number. */
function parseNumber(t: Token, w = t.text): number | null {
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(w)) v = parseInt(w.slice(2), 16);
  else if (/^0[0-7]*$/.test(w)) v = parseInt(w, 8);
  else if (/^0[0-9]+$/.test(w)) throw fail(t, 'a non-octal digit (a leading 0 makes a number octal, as in tcpdump)', w);
  else if (/^[1-9][0-9]*$/.test(w)) v = Number(w);
  else return null;
  if (v > 0xffffffff) throw fail(t, 'number too large', w);
  return v;
}

/** `t` after host qualifiers (or none): an IPv4 or IPv6 address, never a name. */
export function hostValue(c: TokenCursor, q: Qualifiers, t: Token): FilterNode {
  const w = t.text;
  if (q.proto !== P_DEFAULT && q.proto !== P_IP && q.proto !== P_IP6) {
    throw fail(t, `"${q.protoWord}" cannot qualify a host (write "${q.protoWord} and host ${w}")`);
  }
  const n = c.peek();
  if (n.type === T_SLASH || (n.type === T_WORD && n.text === 'mask')) {
    const m = c.peek(1);
    const rest = `${n.type === T_SLASH ? '/' : ' mask '}${m.type === T_WORD ? m.text : '...'}`;
    throw fail(t, `a mask is for networks: write "net ${w}${rest}"`, `${w}${rest}`);
  }
  let version: 4 | 6;
  let addr: Uint8Array;
  if (w.includes(':') || w.includes('%')) {
    version = 6;
    addr = ipv6(t);
  } else if (/^[0-9.]+$/.test(w) && w.includes('.')) {
    const parts = parseIpv4Parts(w);
    if (parts === null) throw fail(t, 'invalid IPv4 address');
    if (parts.length < 4) throw fail(t, `not a whole IPv4 address (a host has four parts; for a network write "net ${w}")`);
    version = 4;
    addr = u32Bytes(partsValue(parts));
  } else if (/^[0-9]+$/.test(w) || /^0[xX][0-9a-fA-F]+$/.test(w)) {
    throw fail(t, `not an address${q.kind === A_DEFAULT ? '' : ` after "${q.words}"`} (a host is a.b.c.d or an IPv6 address)`);
  } else if (/^[A-Za-z]/.test(w)) {
    throw fail(t, 'host names are not resolved; give an IPv4 or IPv6 address');
  } else {
    throw fail(t, 'invalid address');
  }
  checkVersion(q, t, version);
  return new AddressNode(version, addr, prefixMask(version === 4 ? 32 : 128, 16), q.dir, true);
}

/** `t` after net qualifiers: an address with its /len or mask (read from `c`), or a network number. */
export function netValue(c: TokenCursor, q: Qualifiers, t: Token): FilterNode {
  const w = t.text;
  if (q.proto !== P_DEFAULT && q.proto !== P_IP && q.proto !== P_IP6) {
    throw fail(t, `"${q.protoWord}" cannot qualify a network (write "${q.protoWord} and net ${w}")`);
  }
  const slash = c.peek().type === T_SLASH;
  const maskWord = c.peek().type === T_WORD && c.peek().text === 'mask';
  if (w.includes(':') || w.includes('%')) {
    const addr = ipv6(t);
    if (maskWord) throw fail(t, `"mask" is for IPv4 networks: write "${w}/length"`);
    const bits = slash ? readPrefixLength(c, t, 128) : 128;
    const mask = prefixMask(bits, 16);
    if (hasHostBits(addr, mask, 16)) throw fail(t, `bits set past the /${bits} prefix (the network is ${netText(6, masked(addr, mask, 16), mask)})`, `${w}/${bits}`);
    checkVersion(q, t, 6);
    return new AddressNode(6, addr, mask, q.dir, false);
  }
  let value: number;
  let mask: Uint8Array;
  let shown = w;
  if (/^[0-9]+$/.test(w) || /^0[xX]/.test(w)) {
    // A number alone is a network number: 10 is 10.0.0.0/8, as libpcap promotes it.
    if (slash || maskWord) throw fail(t, `write the IPv4 network with dots, as in "net ${w}.0.0.0/8"`);
    let v = parseNumber(t);
    if (v === null) throw fail(t, 'invalid network number');
    let m = 0xffffffff;
    while (v !== 0 && v < 0x1000000) {
      v *= 256;
      m = (m * 256) % 0x100000000;
    }
    value = v;
    mask = u32Bytes(m);
  } else if (/^[0-9.]+$/.test(w)) {
    const parts = parseIpv4Parts(w);
    if (parts === null) throw fail(t, 'invalid IPv4 address');
    value = partsValue(parts);
    if (slash) {
      const bits = readPrefixLength(c, t, 32);
      mask = prefixMask(bits, 4);
      shown = `${w}/${bits}`;
    } else if (maskWord) {
      c.i++;
      const mt = c.peek();
      const mparts = mt.type === T_WORD ? parseIpv4Parts(mt.text) : null;
      if (mparts === null) throw mt.type === T_END ? fail(c.previous(), 'expected an IPv4 mask after it') : fail(mt, 'invalid IPv4 mask');
      c.i++;
      mask = u32Bytes(partsValue(mparts));
      shown = `${w} mask ${mt.text}`;
    } else {
      mask = prefixMask(8 * parts.length, 4);
    }
  } else if (/^[A-Za-z]/.test(w)) {
    throw fail(t, 'network names are not resolved; give an address, as in "net 10.0.0.0/8"');
  } else {
    throw fail(t, 'invalid network address');
  }
  const net = u32Bytes(value);
  if (hasHostBits(net, mask, 4)) {
    throw fail(t, `bits set outside the network mask (the network is ${netText(4, masked(net, mask, 4), mask)})`, shown);
  }
  checkVersion(q, t, 4);
  return new AddressNode(4, net, mask, q.dir, false);
}

/** "/len" after a network address, at most `max`. */
function readPrefixLength(c: TokenCursor, addrTok: Token, max: number): number {
  c.i++; // the slash
  const t = c.peek();
  const bits = t.type === T_WORD ? parseNumber(t) : null;
  if (bits === null) throw t.type === T_END ? fail(c.previous(), 'expected a prefix length after it') : fail(t, 'expected a prefix length');
  c.i++;
  if (bits > max) throw fail(addrTok, `prefix length out of range for IPv${max === 32 ? 4 : 6} (0-${max})`, `${addrTok.text}/${t.text}`);
  return bits;
}

function ipv6(t: Token): Uint8Array {
  if (t.text.includes('%')) throw fail(t, 'zone indexes (%...) are not supported; give the address alone');
  const a = parseIpv6(t.text);
  if (a === null) throw fail(t, 'invalid IPv6 address');
  return a;
}

function checkVersion(q: Qualifiers, t: Token, version: 4 | 6): void {
  if (q.proto === P_IP && version === 6) throw fail(t, 'an IPv6 address cannot have the qualifier "ip" (use ip6)');
  if (q.proto === P_IP6 && version === 4) throw fail(t, 'an IPv4 address cannot have the qualifier "ip6" (use ip)');
}

function portProtocols(q: Qualifiers, t: Token): number {
  switch (q.proto) {
    case P_DEFAULT:
      return PORT_ANY;
    case P_TCP:
      return PORT_TCP;
    case P_UDP:
      return PORT_UDP;
    case P_SCTP:
      return PORT_SCTP;
    default:
      throw fail(t, `"${q.protoWord}" cannot qualify a port (ports belong to tcp, udp or sctp)`);
  }
}

function port(t: Token, w: string): number {
  const v = parseNumber(t, w);
  if (v === null) {
    if (/^[A-Za-z]/.test(w)) throw fail(t, 'port names are not resolved; give a number');
    throw fail(t, 'invalid port number');
  }
  if (v > 65535) throw fail(t, 'port out of range (0-65535)');
  return v;
}

/** `t` after port qualifiers: one port number. */
export function portValue(q: Qualifiers, t: Token): FilterNode {
  const protocols = portProtocols(q, t);
  if (t.text.includes('-') && /^[0-9]/.test(t.text)) throw fail(t, `a range needs portrange: write "portrange ${t.text}"`);
  const p = port(t, t.text);
  return new PortNode(p, p, q.dir, protocols);
}

/** `t` after portrange qualifiers: low-high (either order). */
export function portRangeValue(q: Qualifiers, t: Token): FilterNode {
  const protocols = portProtocols(q, t);
  const dash = t.text.indexOf('-');
  if (dash <= 0 || dash === t.text.length - 1) throw fail(t, 'not a port range: write it as low-high, as in "portrange 6000-6010"');
  let lo = port(t, t.text.slice(0, dash));
  let hi = port(t, t.text.slice(dash + 1));
  if (lo > hi) [lo, hi] = [hi, lo];
  return new PortNode(lo, hi, q.dir, protocols);
}
