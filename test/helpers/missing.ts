/**
 * Printed once at the start of `npm test`: what this machine lacks, and so which
 * tests skip. A clean clone with nothing beside it passes; `.ci/run` provides all.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { HAVE_CORPUS, HAVE_TCPDUMP, HAVE_TSHARK, IS_ROOT, CORPUS } from './env.js';

export default function setup(): void {
  const missing: string[] = [];
  if (!HAVE_CORPUS) missing.push(`the corpus (${CORPUS}): the corpus, Zeek and tshark agreement tests`);
  if (!HAVE_TSHARK) missing.push('tshark: the differential tests, tcp.stream numbers and display filters against tshark');
  if (!HAVE_TCPDUMP) missing.push('tcpdump: the packet-listing and filter-expression comparisons');
  if (spawnSync('script', ['--version']).status !== 0) missing.push('script (util-linux): the table under a pseudo-terminal');
  if (!existsSync('/usr/bin/chromium')) missing.push('chromium: the HTML report in a browser');
  if (spawnSync('promtool', ['--version']).status !== 0) missing.push("promtool (Debian's prometheus): the metrics exposition and the example alerting rules");
  if (!IS_ROOT) missing.push('root: live capture in network namespaces');
  const line = missing.length === 0 ? 'tcpsleuth tests: nothing missing, no test skips for want of a tool or the corpus' : `tcpsleuth tests: skipping what needs ${missing.join('; ')}`;
  process.stdout.write(`${line}\n`);
}
