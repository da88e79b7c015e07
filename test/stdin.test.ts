/**
 * Standard input is read through descriptor 0 when it is a regular file, a pipe or a
 * socket (src/capture/source.ts, DescriptorSource), and through Node's stream when a
 * read finds the descriptor non-blocking (someone else set the flag). Every way a
 * capture can arrive on standard input must give the document the file gives by path.
 * Runs the built CLI through sh.
 */
import { execFile, execFileSync } from 'node:child_process';
import { closeSync, constants, createWriteStream, openSync, readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { shortConnections } from './helpers/scenarios.js';
import { useTempDir } from './helpers/temp-dir.js';
import { BIN } from './helpers/cli.js';
import { CAPTURES } from './helpers/env.js';
import { DescriptorSource } from '../src/capture/source.js';
import { ByteWindow } from '../src/capture/window.js';

const exec = promisify(execFile);
const tmp = useTempDir();

/** `sh -c script` with $NODE, $CLI and $F set; stdout. */
async function sh(script: string, f: string): Promise<string> {
  const env = { ...process.env, NODE: process.execPath, CLI: BIN, F: f };
  const { stdout } = await exec('sh', ['-c', script], { env, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' });
  return stdout;
}

/** The JSON document with the capture's name taken out (standard input is "<stdin>"). */
function unnamed(json: string): string {
  return json.replace(/"file":"[^"]*"/g, '"file":null');
}

/**
 * Makes descriptor 0 non-blocking, then runs the CLI on it (perl is essential in
 * Debian; a Node parent cannot do it: libuv makes a child's standard descriptors blocking).
 */
const NON_BLOCKING = `perl -e 'use Fcntl; fcntl(STDIN, F_SETFL, fcntl(STDIN, F_GETFL, 0) | O_NONBLOCK) or die; exec @ARGV' "$NODE" "$CLI" analyze --format json -`;

const WAYS: Record<string, string> = {
  'a regular file': '"$NODE" "$CLI" analyze --format json - < "$F"',
  'a pipe': 'cat "$F" | "$NODE" "$CLI" analyze --format json -',
  // A writer that stops in the middle of a record: the reader waits for the rest.
  'a pipe with a slow writer': '(head -c 1000 "$F"; sleep 0.3; tail -c +1001 "$F") | "$NODE" "$CLI" analyze --format json -',
  // Nothing arrives for a while, so the first read finds no data and turns to the stream.
  'a non-blocking pipe': `(sleep 0.5; cat "$F") | ${NON_BLOCKING}`,
  // Node's own child processes get a socket pair: what a test harness or a supervisor gives.
  'a socket': `"$NODE" -e "const c = require('node:child_process').spawn(process.env.NODE, [process.env.CLI, 'analyze', '--format', 'json', '-'], { stdio: ['pipe', 'inherit', 'inherit'] }); require('node:fs').createReadStream(process.env.F).pipe(c.stdin); c.on('exit', (s) => { process.exitCode = s ?? 1; });"`,
};

describe('standard input', () => {
  const big = tmp.write('short.pcap', shortConnections(1000, 12)); // 5.9 MB: many reads, records across them
  const files = [join(CAPTURES, 'close-wait-stuck.pcap'), join(CAPTURES, 'healthy-ipv6.pcap'), big, tmp.write('short.pcap.gz', gzipSync(readFileSync(big)))];

  for (const [way, script] of Object.entries(WAYS)) {
    it(`as ${way} gives the document the path gives`, async () => {
      for (const f of files) {
        const byPath = await sh('"$NODE" "$CLI" analyze --format json "$F"', f);
        expect(JSON.parse(byPath).connections.length).toBeGreaterThan(0);
        const viaStdin = await sh(script, f);
        expect(viaStdin).toContain('"file":"<stdin>"');
        expect(unnamed(viaStdin)).toBe(unnamed(byPath));
      }
    }, 60_000);
  }

  it('named by path as a FIFO gives the document the file gives', async () => {
    const fifo = join(tmp.path, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const byPath = await sh('"$NODE" "$CLI" analyze --format json "$F"', big);
    const viaFifo = await sh(`(cat "$F" > "${fifo}" &) ; "$NODE" "$CLI" analyze --format json "${fifo}"`, big);
    expect(viaFifo).toContain(`"file":"${fifo}"`);
    expect(unnamed(viaFifo)).toBe(unnamed(byPath));
  }, 60_000);
});

describe('DescriptorSource', () => {
  /** Read `src` to its end through a window, in `want`-byte asks. */
  async function drain(src: DescriptorSource, want: number): Promise<Buffer> {
    const w = new ByteWindow(want);
    const parts: Buffer[] = [];
    for (;;) {
      const n = await src.fill(w, want);
      if (n === 0) break;
      parts.push(Buffer.from(w.buf.subarray(w.start, w.end)));
      w.consumeTo(w.end);
    }
    await src.close();
    return Buffer.concat(parts);
  }

  it('reads a descriptor that would block through the stream, from where it stopped, every byte once', async () => {
    const fifo = join(tmp.path, 'nb-fifo');
    execFileSync('mkfifo', [fifo]);
    // Opened non-blocking, with no data yet: the first read gets EAGAIN.
    const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, 'w');
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 8)) & 0xff;
    let streams = 0;
    const src = new DescriptorSource(fd, -1, () => {
      streams++;
      return new Socket({ fd, readable: true, writable: false });
    });
    const read = drain(src, 64 * 1024);
    // Written (on libuv's pool: the pipe holds 64 KiB) once the first read has found it empty.
    setTimeout(() => createWriteStream('', { fd: writer }).end(data), 100);
    const got = await read;
    expect(streams).toBe(1);
    expect(got.equals(data)).toBe(true);
  });

  it('reads a blocking descriptor itself, in asks no bigger than the file holds', async () => {
    const data = Buffer.alloc(200_000, 7);
    const f = tmp.write('plain.bin', data);
    const fd = openSync(f, 'r');
    let streams = 0;
    const src = new DescriptorSource(fd, data.length, () => {
      streams++;
      throw new Error('no stream wanted');
    });
    // A lying record length asks for far more than the file holds: the window stays small.
    const w = new ByteWindow(1024);
    expect(await src.fill(w, 1 << 30)).toBe(data.length);
    expect(w.buf.length).toBeLessThan(4 * data.length);
    expect(await src.fill(w, 1 << 30)).toBe(0);
    closeSync(fd);
    expect(streams).toBe(0);
  });
});
