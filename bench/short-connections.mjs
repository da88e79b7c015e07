#!/usr/bin/env node
// node bench/short-connections.mjs OUT.pcap [RATE] [SECONDS]
//
// A synthetic capture of a busy server's short connections: RATE connections a
// second (default 1000) for SECONDS (default 600), each a handshake and a clean
// close by the client, 7 segments. TIME-WAIT keeps about 60 * RATE of them alive at
// once, so the capture's clock has tens of thousands of live connections on every
// tick, which the kernel-traffic bench capture (8 s long) does not show. Segments
// are 10 µs apart, so the file is in time order for RATE up to 16,000. Made, not
// captured: for timing `npm run bench -- OUT.pcap`, never as ground truth.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const [out, rateArg = '1000', secondsArg = '600'] = process.argv.slice(2);
if (!out) {
  process.stderr.write('usage: node bench/short-connections.mjs OUT.pcap [RATE] [SECONDS]\n');
  process.exit(2);
}
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const count = rate * seconds;

// The records are written by the tests' BulkPcap (test/helpers/build.ts), compiled
// here by esbuild; the helpers' one use of vitest (afterAll) is stubbed out.
const noVitest = {
  name: 'no-vitest',
  setup(b) {
    b.onResolve({ filter: /^vitest$/ }, () => ({ path: 'vitest', namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({ contents: 'export const afterAll = () => {};' }));
  },
};
const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const { outputFiles } = await build({
  stdin: { contents: "export { BulkPcap } from './test/helpers/build.ts';", resolveDir: repo, loader: 'ts' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  write: false,
  plugins: [noVitest],
  logLevel: 'warning',
});
const { BulkPcap } = await import(`data:text/javascript,${encodeURIComponent(outputFiles[0].text)}`);
const p = new BulkPcap(count * 7);

const SERVER = 0x0a000002;
for (let i = 0; i < count; i++) {
  const us = Math.floor((i * 1e6) / rate);
  // 50,000 ports per client address: no tuple is reused within TIME-WAIT.
  const client = 0x0a000001 + Math.floor(i / 50_000) * 256;
  const port = 1024 + (i % 50_000);
  const a = Math.imul(i, 7919) >>> 0;
  const b = Math.imul(i, 104729) >>> 0;
  p.tcp(us, client, SERVER, port, 80, a, 0, 0x02);
  p.tcp(us + 10, SERVER, client, 80, port, b, a + 1, 0x12);
  p.tcp(us + 20, client, SERVER, port, 80, a + 1, b + 1, 0x10);
  p.tcp(us + 30, client, SERVER, port, 80, a + 1, b + 1, 0x11);
  p.tcp(us + 40, SERVER, client, 80, port, b + 1, a + 2, 0x10);
  p.tcp(us + 50, SERVER, client, 80, port, b + 1, a + 2, 0x11);
  p.tcp(us + 60, client, SERVER, port, 80, a + 2, b + 2, 0x10);
}
writeFileSync(out, p.buf);
process.stdout.write(`${out}: ${count} connections, ${count * 7} packets, ${p.buf.length} bytes\n`);
