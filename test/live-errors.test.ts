import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN } from './helpers/cli.js';
import { HAVE_BINDING, IS_ROOT, have } from './live-netns.js';

/** Each way `tcpsleuth live` (and `interfaces`) can fail to start: one line on stderr, exit 2. */

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], pre: string[] = [], prefix: string[] = []): Run {
  const cmd = prefix.length ? prefix[0]! : process.execPath;
  const argv = prefix.length ? [...prefix.slice(1), process.execPath, ...pre, BIN, ...args] : [...pre, BIN, ...args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exactly one line on stderr, starting "tcpsleuth: ". */
function oneLine(r: Run): string {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^tcpsleuth: /);
  return lines[0]!;
}

const tmp = mkdtempSync(join(tmpdir(), 'tcpsleuth-live-errors-'));
/** The pcap package is there (its native part is replaced by a stand-in below). */
const HAVE_PCAP_PACKAGE = ((): boolean => {
  try {
    createRequire(import.meta.url).resolve('pcap/package.json');
    return true;
  } catch {
    return false;
  }
})();
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('live capture errors that need neither root nor a built binding', () => {
  // Simulates a machine without libpcap or without the bindings built: loading them fails.
  const block = join(tmp, 'no-bindings.cjs');
  writeFileSync(
    block,
    `const Module = require('module');
const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (/^(pcap|cap)(\\/|$)|pcap_binding\\.node$|cap\\.node$/.test(request)) {
    const e = new Error("Cannot find module '" + request + "'");
    e.code = 'MODULE_NOT_FOUND';
    throw e;
  }
  return load.apply(this, arguments);
};
`,
  );

  it('libpcap or the bindings missing: says how to install them (live and interfaces)', () => {
    for (const args of [['live', '-i', 'lo'], ['interfaces']]) {
      const r = run(args, ['--require', block]);
      expect(r.code).toBe(2);
      const line = oneLine(r);
      expect(line).toContain('live capture needs libpcap');
      expect(line).toMatch(/\(pcap: not (built|installed); cap: not installed\)/);
      expect(line).toContain('install libpcap-dev');
      expect(line).toContain('npm rebuild pcap cap');
    }
  });

  it('sizes and numbers are checked before anything starts: --buffer-size above 2 GiB, a tiny --snaplen, a zero --count', () => {
    for (const [args, message] of [
      [['--buffer-size', '4096'], 'expected a size from 1M to 2047M'],
      [['--buffer-size', '3G'], 'expected a size from 1M to 2047M'],
      [['--snaplen', '40'], 'expected a size from 96 to 262144 bytes'],
      [['--count', '0'], 'expected a whole number of at least 1'],
    ] as const) {
      const r = run(['live', '-i', 'lo', ...args], ['--require', block]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toContain('live capture needs libpcap');
    }
  });

  it.skipIf(!HAVE_PCAP_PACKAGE)(`a binding's own complaint is said in the user's terms${HAVE_PCAP_PACKAGE ? '' : ' (skipped: the pcap package is not installed)'}`, () => {
    // The pcap binding's C++ argument check, as it words it, from a stand-in binding.
    const fake = join(tmp, 'fake-binding.cjs');
    writeFileSync(
      fake,
      `const Module = require('module');
const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (/pcap_binding\\.node$/.test(request)) {
    return {
      findalldevs: () => [{ name: 'lo', addresses: [], flags: 'PCAP_IF_LOOPBACK' }],
      PcapSession: function () { this.open_live = () => { throw new TypeError('info[2] must be a Number'); }; this.close = () => {}; },
    };
  }
  if (/^cap(\\/|$)|cap\\.node$/.test(request)) { const e = new Error('no cap'); e.code = 'MODULE_NOT_FOUND'; throw e; }
  return load.apply(this, arguments);
};
`,
    );
    const r = run(['live', '-i', 'lo', '--buffer-size', '512M'], ['--require', fake]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe('tcpsleuth: cannot capture on lo: the capture library refused the settings (buffer 512 MiB, snaplen 262144 bytes) [info[2] must be a Number]');
  });

  it('a usage error (a zero --duration, an unknown --backend, no -i)', () => {
    expect(run(['live', '-i', 'lo', '--duration', '0']).code).toBe(2);
    expect(run(['live', '-i', 'lo', '--backend', 'libpcap']).code).toBe(2);
    const r = run(['live']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("required option '-i, --interface <name>' not specified");
  });
});

describe.skipIf(!HAVE_BINDING)(HAVE_BINDING ? 'live capture errors with a libpcap binding' : 'live capture errors with a libpcap binding (skipped: no binding built)', () => {
  it('an unknown interface: lists the available ones', () => {
    const r = run(['live', '-i', 'nosuch0']);
    expect(r.code).toBe(2);
    const line = oneLine(r);
    expect(line).toMatch(/^tcpsleuth: no interface "nosuch0"; available: .*\blo\b.*\(see tcpsleuth interfaces\)$/);
  });

  it('tcpsleuth interfaces lists them as tcpdump -D does', () => {
    const r = run(['interfaces']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.lo \[Up, Running, Loopback\]$/m);
    expect(r.stdout).toMatch(/^\d+\.any \(Pseudo-device that captures on all interfaces\) \[Up, Running\]$/m);
  });
});

const ROOT_NAME = !IS_ROOT ? ' (skipped: not root)' : !HAVE_BINDING ? ' (skipped: no binding built)' : '';
describe.skipIf(!IS_ROOT || !HAVE_BINDING)(`live capture errors as root${ROOT_NAME}`, () => {
  it('an invalid filter: libpcap\'s message', () => {
    const r = run(['live', '-i', 'lo', 'tcp', 'prot', '80']);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe('tcpsleuth: invalid filter "tcp prot 80": can\'t parse filter expression: syntax error');
  });

  // A checkout under a private directory (mktemp -d is mode 700) is out of nobody's reach.
  const NOBODY_READS = have('setpriv') && spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'test', '-r', BIN]).status === 0;
  const NOBODY_NAME = !have('setpriv') ? ' (skipped: no setpriv)' : !NOBODY_READS ? ' (skipped: nobody cannot read the checkout)' : '';
  it.skipIf(!NOBODY_READS)(`not permitted (run as nobody): root or CAP_NET_RAW is needed${NOBODY_NAME}`, () => {
    const r = run(['live', '-i', 'lo'], [], ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups']);
    expect(r.code).toBe(2);
    const line = oneLine(r);
    expect(line).toContain('tcpsleuth: cannot capture on lo: permission denied');
    expect(line).toContain('needs root or the CAP_NET_RAW capability');
  });

  it.skipIf(!have('capsh'))('not permitted (root without CAP_NET_RAW): the same message', () => {
    // capsh runs bash with what follows "--".
    const c = spawnSync('capsh', ['--drop=cap_net_raw', '--', '-c', `'${process.execPath}' '${BIN}' live -i lo`], { encoding: 'utf8', timeout: 30_000 });
    expect(c.status).toBe(2);
    expect(oneLine({ code: c.status, stdout: c.stdout, stderr: c.stderr })).toContain('needs root or the CAP_NET_RAW capability');
  });

  it('a -w file that cannot be written', () => {
    const r = run(['live', '-i', 'lo', '--duration', '1s', '-w', join(tmp, 'no', 'such', 'dir.pcapng')]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(/^tcpsleuth: .*dir\.pcapng: cannot write: ENOENT/);
  });
});
