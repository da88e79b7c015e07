/**
 * Standard output into a pipe: a slow reader holds the writer back (nothing piles
 * up in memory), a reader that goes away ends the run quietly, and what arrives is
 * what a file gets. Runs the built code (dist/) in child processes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN } from './helpers/cli.js';
import { REPO } from './helpers/env.js';
import { BulkPcap } from './helpers/pcap.js';

const dir = mkdtempSync(join(tmpdir(), 'tcpsleuth-stdout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const STDOUT_JS = join(REPO, 'dist', 'cli', 'stdout.js');

/** 3000 refused connections: a JSON document of a few MB. */
function refusals(): string {
  const n = 3000;
  const p = new BulkPcap(2 * n);
  for (let i = 0; i < n; i++) {
    p.tcp(i * 100, 0x0a000001, 0x0a000002, 20000 + i, 80, i * 7919, 0, 0x02);
    p.tcp(i * 100 + 10, 0x0a000002, 0x0a000001, 80, 20000 + i, 0, i * 7919 + 1, 0x14);
  }
  const file = join(dir, 'refusals.pcap');
  writeFileSync(file, p.buf);
  return file;
}

interface Drained {
  /** Bytes the reader had taken when the child said its write had returned. */
  readAtReturn: number;
  total: number;
  code: number | null;
}

/**
 * Run `script` with stdout into a pipe read 64 KiB at a time every 2 ms; the script
 * writes `bytes` through writeStdout and then says so on stderr.
 */
function slowlyRead(prelude: string, bytes: number): Promise<Drained> {
  const script = `
    ${prelude}
    const { writeStdout } = await import(${JSON.stringify(STDOUT_JS)});
    writeStdout('x'.repeat(${bytes}));
    process.stderr.write('returned\\n');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let total = 0;
  let readAtReturn = -1;
  child.stderr.on('data', (d: Buffer) => {
    if (d.toString().includes('returned') && readAtReturn < 0) readAtReturn = total;
  });
  // A 'readable' listener keeps the stream paused for read() and marks it as read by us:
  // without one, child_process resumes the stream at the child's exit and drops what it still holds.
  child.stdout.on('readable', () => undefined);
  const timer = setInterval(() => {
    const chunk = child.stdout.read() as Buffer | null;
    if (chunk) total += chunk.length;
  }, 2);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearInterval(timer);
      for (let c = child.stdout.read() as Buffer | null; c; c = child.stdout.read() as Buffer | null) total += c.length;
      resolve({ readAtReturn, total, code });
    }),
  );
}

describe('standard output into a pipe', () => {
  const BYTES = 8 << 20;
  // A pipe holds 64 KiB by default and at most 1 MiB (fs.pipe-max-size): the rest must have been read.
  const HELD = 1 << 20;

  it('a write returns only once the reader has taken all but what the pipe holds', async () => {
    const r = await slowlyRead('', BYTES);
    expect(r.code).toBe(0);
    expect(r.total).toBe(BYTES);
    expect(r.readAtReturn).toBeGreaterThanOrEqual(BYTES - HELD);
  });

  it('so it does when process.stdout made the pipe non-blocking', async () => {
    // Creating process.stdout sets O_NONBLOCK on a pipe: writes then meet EAGAIN and wait.
    const r = await slowlyRead('process.stdout;', BYTES);
    expect(r.code).toBe(0);
    expect(r.total).toBe(BYTES);
    expect(r.readAtReturn).toBeGreaterThanOrEqual(BYTES - HELD);
  });

  it('StdoutBuffer writes its pieces in order, whole, whatever their size and characters', () => {
    // 65,000 bytes, then 300 characters that fit in the 64 KiB buffer as characters but not as bytes;
    // small pieces with multibyte characters, an empty one, one larger than the buffer.
    const make = `['{', ...Array(65).fill('a'.repeat(1000)), 'ü'.repeat(300), ...Array.from({ length: 5000 }, (_, i) => '"é' + i + '→✓",'), '', 'x'.repeat(200000), 'ü'.repeat(30000), '}\\n']`;
    const pieces = new Function(`return ${make}`)() as string[];
    const script = `
      const { StdoutBuffer } = await import(${JSON.stringify(STDOUT_JS)});
      const out = new StdoutBuffer();
      for (const p of ${make}) out.write(p);
      out.flush();
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { maxBuffer: 16 << 20 });
    expect(r.status).toBe(0);
    expect(r.stdout.toString('utf8')).toBe(pieces.join(''));
  });

  it('analyze writes through a pipe what it writes to a file, and a reader that leaves early is no error', () => {
    const capture = refusals();
    const file = join(dir, 'out.json');
    const toFile = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" analyze --format json "${capture}" > "${file}"`]);
    expect(toFile.status).toBe(0);
    const piped = spawnSync(process.execPath, [BIN, 'analyze', '--format', 'json', capture], { maxBuffer: 64 << 20 });
    expect(piped.status).toBe(0);
    expect(piped.stdout.length).toBeGreaterThan(1 << 20);
    expect(piped.stdout.equals(readFileSync(file))).toBe(true);
    // `| head -c 100`: the reader goes away after 100 bytes; the writer's status and stderr are kept aside.
    const status = join(dir, 'status');
    const stderr = join(dir, 'stderr');
    const early = spawnSync('sh', ['-c', `("${process.execPath}" "${BIN}" analyze --format json "${capture}" 2> "${stderr}"; echo $? > "${status}") | head -c 100 > /dev/null`]);
    expect(early.status).toBe(0);
    expect(readFileSync(status, 'utf8').trim()).toBe('0');
    expect(readFileSync(stderr, 'utf8')).toBe('');
  });
});
