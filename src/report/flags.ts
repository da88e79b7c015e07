import { TCP_ACK, TCP_AE, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG } from '../decode/packet.js';

const NAMES: Array<[number, string, string]> = [
  [TCP_SYN, 'SYN', 'S'],
  [TCP_ACK, 'ACK', '.'],
  [TCP_PSH, 'PSH', 'P'],
  [TCP_FIN, 'FIN', 'F'],
  [TCP_RST, 'RST', 'R'],
  [TCP_URG, 'URG', 'U'],
  [TCP_ECE, 'ECE', 'E'],
  [TCP_CWR, 'CWR', 'W'],
  [TCP_AE, 'AE', 'A'],
];

/** ["SYN", "ACK", ...] for a flags bitmask. */
export function flagNames(flags: number): string[] {
  return NAMES.filter(([bit]) => flags & bit).map(([, name]) => name);
}

/** JSON.stringify(flagNames(flags)), made once per distinct bitmask (two per connection line otherwise). */
export function flagNamesJson(flags: number): string {
  let j = namesJson.get(flags);
  if (j === undefined) {
    j = JSON.stringify(flagNames(flags));
    namesJson.set(flags, j);
  }
  return j;
}

/** Bitmasks are at most 12 bits: the cache stays small. */
const namesJson = new Map<number, string>();

/** tcpdump's letters: S . P F R U E W (and A for AE). */
export function flagLetters(flags: number): string {
  return NAMES.filter(([bit]) => flags & bit)
    .map(([, , l]) => l)
    .join('');
}
