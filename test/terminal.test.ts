import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hang } from '../src/report/table.js';
import { displayWidth } from '../src/report/text-width.js';
import { BIN, runSync } from './helpers/cli.js';
import { CAPTURES } from './helpers/env.js';

/**
 * The table on a terminal: run under a pseudo-terminal (util-linux script(1)) of a
 * given width, no line is wider than the terminal, and colour follows --color,
 * NO_COLOR and whether standard output is a terminal.
 */

const HAVE_SCRIPT = spawnSync('script', ['--version']).status === 0;
// SGR sequences only: what the table may print.
const SGR = /\x1b\[[0-9;]*m/g;

function shell(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command's standard output as a terminal of `cols` columns shows it. */
function underPty(cols: number, args: string[], env: Record<string, string> = {}): string {
  const cmd = `stty cols ${cols} rows 60; ${[process.execPath, BIN, ...args].map(shell).join(' ')}`;
  const out = execFileSync('script', ['-q', '-e', '-c', cmd, '/dev/null'], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '', COLUMNS: '', TERM: 'xterm', ...env },
    maxBuffer: 64 << 20,
  });
  return out.replace(/\r\n/g, '\n');
}

function piped(args: string[], env: Record<string, string> = {}): string {
  return runSync(args, { env: { NO_COLOR: '', COLUMNS: '', ...env } }).stdout;
}

const CASES = ['busy-server.pcap', 'healthy-ipv6.pcap', 'half-open.pcap', 'port-reuse.pcap'].map((f) => join(CAPTURES, f));

describe('hanging indents', () => {
  it('no line is wider than the width unless one word is, whatever the two indents', () => {
    const words = 'a bb ccc dddd eeeee ffffff ggggggg hhhhhhhh iiiiiiiii'.split(' ');
    for (let n = 0; n < 400; n++) {
      const text = Array.from({ length: 3 + (n % 17) }, (_, i) => words[(i * 7 + n) % words.length]).join(' ');
      const first = ' '.repeat(n % 13);
      const rest = ' '.repeat((n * 5) % 11);
      const width = 12 + (n % 40);
      const lines = hang(text, width, first, rest).split('\n');
      expect(lines[0]!.startsWith(first)).toBe(true);
      for (const l of lines.slice(1)) expect(l.startsWith(rest)).toBe(true);
      for (const l of lines) if (l.length > width) expect(l.trim().includes(' '), JSON.stringify({ l, width })).toBe(false);
      expect(lines.map((l, i) => l.slice(i === 0 ? first.length : rest.length)).join(' ')).toBe(text);
    }
  });
});

describe.skipIf(!HAVE_SCRIPT)(`the table under a terminal${HAVE_SCRIPT ? '' : ' (skipped: no script(1): apt-get install util-linux)'}`, () => {
  it.each([80, 120, 200])('%i columns: no line is wider than the terminal, and the table keeps what fits', (cols) => {
    for (const file of CASES) {
      const out = underPty(cols, ['analyze', file]);
      const lines = out.split('\n');
      const wide = lines.filter((l) => displayWidth(l.replace(SGR, '')) > cols);
      expect(wide, `${file} at ${cols}`).toEqual([]);
      expect(out).toContain('Verdict:');
      const head = lines.find((l) => /^\s*#\s+/.test(l))!;
      expect(head).toMatch(/Client\s+Server\s+Client state\s+Server state/);
      // What was dropped to fit is named; at 200 columns nothing is.
      if (cols === 200) expect(out).not.toContain('Left out to fit');
      if (cols === 80 && file.endsWith('busy-server.pcap')) expect(out).toMatch(/Left out to fit 80 columns: [^\n]*s>c pkts\/bytes/);
    }
  });

  it('COLUMNS sets the width when standard output is no terminal', () => {
    const out = piped(['analyze', join(CAPTURES, 'busy-server.pcap')], { COLUMNS: '90' });
    expect(out.split('\n').filter((l) => displayWidth(l) > 90)).toEqual([]);
    // Without a terminal or COLUMNS, every column is there.
    expect(piped(['analyze', join(CAPTURES, 'busy-server.pcap')])).toMatch(/c>s pkts\/bytes {2}s>c pkts\/bytes {2}Findings/);
  });

  it('colour: auto on a terminal, never with NO_COLOR or --color never, always with --color always even into a pipe', () => {
    const file = join(CAPTURES, 'busy-server.pcap');
    const auto = underPty(120, ['analyze', file]);
    expect(auto).toMatch(/\x1b\[33mWARNING/);
    expect(underPty(120, ['analyze', file], { NO_COLOR: '1' })).not.toMatch(SGR);
    expect(underPty(120, ['analyze', '--color', 'never', file])).not.toMatch(SGR);
    expect(piped(['analyze', file])).not.toMatch(SGR);
    const always = piped(['analyze', '--color', 'always', file], { NO_COLOR: '1' });
    expect(always).toMatch(/\x1b\[33mWARNING/);
    // Colour changes nothing but the escapes.
    expect(always.replace(SGR, '')).toBe(piped(['analyze', file]));
  });
});
