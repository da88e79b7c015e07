/** Address formatting as tcpdump and Wireshark print them. */

export function formatIp(version: 4 | 6, a: Uint8Array): string {
  if (version === 4) return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  return formatIpv6(a);
}

/** RFC 5952: lower case, leading zeros dropped, the longest run (>1) of zero groups as "::". */
export function formatIpv6(a: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((a[i]! << 8) | a[i + 1]!);
  // IPv4-mapped addresses read better in dotted form, as Wireshark prints them.
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (x: number): string => x.toString(16);
  if (bestStart < 0) return g.map(hex).join(':');
  const head = g.slice(0, bestStart).map(hex).join(':');
  const tail = g.slice(bestStart + bestLen).map(hex).join(':');
  return `${head}::${tail}`;
}

/** "10.0.0.1:40000" or "[2001:db8::1]:443". */
export function formatEndpoint(version: 4 | 6, a: Uint8Array, port: number): string {
  return version === 4 ? `${formatIp(4, a)}:${port}` : `[${formatIpv6(a)}]:${port}`;
}
