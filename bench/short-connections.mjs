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

// The records are written by the tests' shortConnections (test/helpers/scenarios.ts), compiled
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
  stdin: { contents: "export { shortConnections } from './test/helpers/scenarios.ts';", resolveDir: repo, loader: 'ts' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  write: false,
  plugins: [noVitest],
  logLevel: 'warning',
});
const { shortConnections } = await import(`data:text/javascript,${encodeURIComponent(outputFiles[0].text)}`);
const buf = shortConnections(rate, seconds);
writeFileSync(out, buf);
process.stdout.write(`${out}: ${count} connections, ${count * 7} packets, ${buf.length} bytes\n`);
