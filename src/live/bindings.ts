import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The two libpcap bindings live capture can use, loaded on demand (both are optional
 * dependencies built by node-gyp against libpcap-dev):
 *
 * - `pcap` (node_pcap 3.1.0): the preferred one. It hands on the kernel's capture
 *   timestamps and the original length, reads libpcap's counters (pcap_stats: packets
 *   dropped by the kernel), and with a read timeout libpcap uses a TPACKET_V3 ring in
 *   which small packets take little room.
 * - `cap` (0.2.1): the fallback. No timestamps (a wall clock read at receipt stands in),
 *   no original length, no pcap_stats (drops cannot be known), and immediate mode: a
 *   TPACKET_V2 ring of snaplen-sized slots and a system call per packet.
 *
 * Only the calls used here are typed; the modules are loaded with require() and checked.
 */

const require = createRequire(import.meta.url);

/** What libpcap's pcap_findalldevs() says about an interface. */
export interface DeviceInfo {
  name: string;
  description?: string;
  /** Some entries are holes (null) in node_pcap's array. */
  addresses: ({ addr?: string; netmask?: string } | null | undefined)[];
  flags?: string;
}

/** node_pcap's native PcapSession (pcap_session.cc), used without its JS wrapper. */
export interface NodePcapSession {
  open_live(
    device: string,
    filter: string,
    bufferSize: number,
    snapLen: number,
    outfile: string,
    packetReady: () => void,
    monitor: boolean,
    bufferTimeoutMs: number,
    warning: (message: string) => void,
    promiscuous: boolean,
  ): string;
  start_polling(): void;
  /** Reads every packet libpcap has ready, calling packetReady for each; returns the last pcap_dispatch() result. */
  dispatch(data: Buffer, header: Buffer): number;
  stats(): { ps_recv: number; ps_drop: number; ps_ifdrop: number };
  close(): void;
  /** Called by the binding when the descriptor is readable. */
  read_callback?: () => void;
}

export interface NodePcapBinding {
  PcapSession: new () => NodePcapSession;
  findalldevs(): DeviceInfo[];
  lib_version(): string;
}

/** cap's Cap object: an EventEmitter with a 'packet' event (bytes, truncated). */
export interface CapHandle {
  open(device: string, filter: string, bufferSize: number, buffer: Buffer): string;
  close(): boolean;
  on(event: 'packet', listener: (bytes: number, truncated: boolean) => void): unknown;
}

export interface CapModule {
  Cap: (new () => CapHandle) & { deviceList(): DeviceInfo[] };
}

export type BackendName = 'pcap' | 'cap';
export const BACKENDS: readonly BackendName[] = ['pcap', 'cap'];

export type Loaded = { name: 'pcap'; pcap: NodePcapBinding } | { name: 'cap'; cap: CapModule };

/** Why a binding did not load, in a few words (the first line of the loader's error). */
function reason(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  const first = m.split('\n')[0]!.trim();
  if (/Cannot find module '([^']+)'/.test(first)) {
    const mod = /Cannot find module '([^']+)'/.exec(first)![1]!;
    return mod.endsWith('.node') ? 'not built' : 'not installed';
  }
  return first;
}

function isFunction(x: unknown): boolean {
  return typeof x === 'function';
}

function loadPcap(): NodePcapBinding {
  // The native module itself: node_pcap's pcap.js adds a per-packet object and an event we do not need.
  const pkg = require.resolve('pcap/package.json');
  const m = require(join(dirname(pkg), 'build', 'Release', 'pcap_binding.node')) as Partial<NodePcapBinding>;
  if (!isFunction(m.PcapSession) || !isFunction(m.findalldevs)) throw new Error('unexpected pcap binding (expected node_pcap 3.x)');
  return m as NodePcapBinding;
}

function loadCap(): CapModule {
  const m = require('cap') as Partial<CapModule>;
  if (!m.Cap || !isFunction(m.Cap) || !isFunction(m.Cap.deviceList)) throw new Error('unexpected cap module (expected cap 0.2.x)');
  return m as CapModule;
}

/** The directory of this package, for the "npm rebuild" hint. */
export function packageDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

export class BindingError extends Error {}

/**
 * Load a binding: the one asked for, or the first of pcap, cap that loads. The error
 * says why each failed and how to fix it, in one line.
 */
export function loadBinding(wanted: BackendName | 'auto'): Loaded {
  const order: BackendName[] = wanted === 'auto' ? ['pcap', 'cap'] : [wanted];
  const why: string[] = [];
  for (const name of order) {
    try {
      return name === 'pcap' ? { name, pcap: loadPcap() } : { name, cap: loadCap() };
    } catch (e) {
      why.push(`${name}: ${reason(e)}`);
    }
  }
  const pkgs = order.join(' ');
  throw new BindingError(
    `live capture needs libpcap and a Node binding for it, which did not load (${why.join('; ')}): ` +
      `install libpcap-dev (apt-get install libpcap-dev, or libpcap-devel), then run "npm rebuild ${pkgs}" in ${packageDir()}`,
  );
}

/** The interfaces libpcap can capture on, in its order (as tcpdump -D numbers them). */
export function deviceList(b: Loaded): DeviceInfo[] {
  return b.name === 'pcap' ? b.pcap.findalldevs() : b.cap.Cap.deviceList();
}

/** LINKTYPE_ value of the link-type name a binding returns from open. */
export function linkTypeOf(name: string): number {
  const n = name.replace(/^LINKTYPE_/, '');
  switch (n) {
    case 'NULL':
      return 0;
    case 'ETHERNET':
      return 1;
    case 'RAW':
      return 101;
    case 'IEEE802_11_RADIO':
      return 127;
    case 'LINUX_SLL':
      return 113;
  }
  // "Unknown linktype N": a DLT_ value, equal to its LINKTYPE_ on Linux for those we decode (SLL2 276, NFLOG 239...).
  const m = /(\d+)$/.exec(name);
  if (m) return Number(m[1]);
  throw new Error(`unexpected link type "${name}" from the binding`);
}
