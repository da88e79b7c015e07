import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytes, durationText, seconds } from '../src/cli/detect-options.js';
import { runSync as cli } from './helpers/cli.js';
import { CAPTURES } from './helpers/env.js';

/** Option values are checked, take the units people type, and the help says the defaults with theirs. */

describe('option values', () => {
  it('durations take ms, s, m and h; a bare number is seconds', () => {
    expect(seconds('250ms')).toBe(0.25);
    expect(seconds('2')).toBe(2);
    expect(seconds('2s')).toBe(2);
    expect(seconds('1.5m')).toBe(90);
    expect(seconds('2h')).toBe(7200);
    expect(() => seconds('2d')).toThrow(/2h/);
    expect(() => seconds('-1s')).toThrow();
    expect(durationText(2)).toBe('2s');
    expect(durationText(0.5)).toBe('500ms');
    expect(durationText(3600)).toBe('1h');
  });

  it('sizes take K, M and G (binary); a bare number counts the option\'s own unit', () => {
    expect(bytes('65536')).toBe(65536);
    expect(bytes('64K')).toBe(65536);
    expect(bytes('64M')).toBe(64 * 2 ** 20);
    expect(bytes('1G')).toBe(2 ** 30);
    expect(bytes('1GiB')).toBe(2 ** 30);
    expect(bytes('64', 2 ** 20)).toBe(64 * 2 ** 20);
    expect(() => bytes('64X')).toThrow(/64K/);
  });

  it('--close-wait 2h is taken, --close-wait 2d is a usage error', () => {
    const ok = cli(['analyze', '--close-wait', '2h', join(CAPTURES, 'close-wait-stuck.pcap')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).not.toContain('close-wait-stuck:');
    const bad = cli(['analyze', '--close-wait', '2d', join(CAPTURES, 'close-wait-stuck.pcap')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^tcpsleuth: option '--close-wait <duration>' argument '2d' is invalid\. expected a duration such as 2, 2s, 500ms, 1m or 2h/);
  });

  it('--threads is at most the cores of the machine, said with the number', () => {
    const n = availableParallelism();
    const r = cli(['analyze', '--threads', String(n + 1), join(CAPTURES, 'half-close.pcap')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`expected a whole number from 1 to ${n} (at most the cores of this machine)`);
    expect(r.stdout).toBe('');
    expect(cli(['analyze', '--threads', String(n), join(CAPTURES, 'half-close.pcap')]).code).toBe(0);
  });

  it('other counts have sane ranges: --diagrams, --diagram-packets, --max-connections, --syn-retransmissions', () => {
    for (const args of [['--diagrams', '0'], ['--diagrams', '100000'], ['--diagram-packets', '2'], ['--max-connections', '5'], ['--syn-retransmissions', '1000']]) {
      const r = cli(['analyze', ...args, join(CAPTURES, 'half-close.pcap')]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/expected a whole number from \d+ to \d+/);
    }
  });

  it('help shows every default with its unit', () => {
    const analyze = cli(['analyze', '--help']).stdout.replace(/\s+/g, ' ');
    for (const d of ['(default: 2s)', '(default: 1s)', '(default: 60s)', '(default: 3 retransmissions)', '(default: 2 retransmissions)', '(default: 100000 connections)', '(default: 20 diagrams)', '(default: 60 packets)', '(default: 65536 characters)']) {
      expect(analyze).toContain(d);
    }
    expect(analyze).not.toMatch(/\(default: (\d+|\[\])\)/);
    expect(analyze).toContain('(repeatable) (default: all)');
    const live = cli(['live', '--help']).stdout.replace(/\s+/g, ' ');
    expect(live).toContain('(default: 64M)');
    expect(live).toContain('(default: 262144 bytes)');
    expect(live).not.toMatch(/\(default: \d+\)/);
  });

  it('no report on standard output when no capture could be read, in any format', () => {
    for (const format of ['table', 'json', 'md', 'html']) {
      const r = cli(['analyze', '--format', format, join(CAPTURES, 'no-such.pcap')]);
      expect(r.code, format).toBe(2);
      expect(r.stdout, format).toBe('');
      expect(r.stderr.trim().split('\n')).toEqual([`tcpsleuth: ${join(CAPTURES, 'no-such.pcap')}: cannot open: no such file`]);
    }
  });
});
