import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { BACKENDS, BindingError, deviceList, loadBinding, type BackendName, type DeviceInfo } from '../live/bindings.js';
import { writeStdout } from './stdout.js';

const EXIT_OK = 0;
const EXIT_INPUT = 2;

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;

function sys(name: string, file: string): string | null {
  if (name.includes('/') || name === '.' || name === '..') return null;
  try {
    return readFileSync(`/sys/class/net/${name}/${file}`, 'utf8').trim();
  } catch {
    return null;
  }
}

/**
 * tcpdump -D's bracket: [Up, Running, Connected, Loopback] or [none]. The bindings pass
 * on only libpcap's loopback flag, so the rest comes from /sys/class/net (Linux).
 */
export function interfaceFlags(d: DeviceInfo): string {
  const out: string[] = [];
  const flags = sys(d.name, 'flags');
  if (flags !== null) {
    const f = Number.parseInt(flags, 16);
    if (f & IFF_UP) out.push('Up');
    // IFF_RUNNING is not in the flags file: it is the carrier of an interface that is up.
    if (f & IFF_UP && sys(d.name, 'carrier') === '1') out.push('Running');
    const loop = (f & IFF_LOOPBACK) !== 0 || d.flags === 'PCAP_IF_LOOPBACK';
    const oper = sys(d.name, 'operstate');
    if (!loop && f & IFF_UP) {
      if (oper === 'up') out.push('Connected');
      else if (oper === 'down' || oper === 'lowerlayerdown') out.push('Disconnected');
    }
    if (loop) out.push('Loopback');
  } else if (d.name === 'any') {
    out.push('Up', 'Running');
  } else if (d.flags === 'PCAP_IF_LOOPBACK') out.push('Loopback');
  return `[${out.length ? out.join(', ') : 'none'}]`;
}

/** One line per interface as `tcpdump -D` prints them: number, name, (description), [flags]. */
export function interfaceLines(devs: DeviceInfo[]): string[] {
  return devs.map((d, i) => `${i + 1}.${d.name}${d.description ? ` (${d.description})` : ''} ${interfaceFlags(d)}`);
}

export function interfacesCommand(done: (code: number) => void): Command {
  return new Command('interfaces')
    .description('List the interfaces live capture can use, as tcpdump -D does')
    .addOption(new Option('--backend <binding>', 'libpcap binding to ask').choices(['auto', ...BACKENDS]).default('auto'))
    .addOption(new Option('-v, --verbose', 'also list each interface\'s addresses'))
    .addHelpText(
      'after',
      `
The number before each name can be given to \`tcpsleuth live -i\`.

Examples:
  $ tcpsleuth interfaces
  $ sudo tcpsleuth live -i 1 tcp port 443`,
    )
    .action((opts: { backend: BackendName | 'auto'; verbose?: boolean }) => {
      let devs: DeviceInfo[];
      try {
        devs = deviceList(loadBinding(opts.backend));
      } catch (e) {
        process.stderr.write(`tcpsleuth: ${e instanceof BindingError ? e.message : `cannot list the interfaces: ${e instanceof Error ? e.message : String(e)}`}\n`);
        done(EXIT_INPUT);
        return;
      }
      const lines = interfaceLines(devs);
      const out: string[] = [];
      devs.forEach((d, i) => {
        out.push(lines[i]!);
        if (opts.verbose) for (const a of d.addresses) if (a?.addr) out.push(`    ${a.addr}${a.netmask ? ` netmask ${a.netmask}` : ''}`);
      });
      writeStdout(out.length ? `${out.join('\n')}\n` : '');
      if (devs.length === 0) process.stderr.write('tcpsleuth: libpcap lists no interface (capturing may need root or CAP_NET_RAW)\n');
      done(EXIT_OK);
    });
}
