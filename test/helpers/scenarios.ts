/** Big synthetic captures of whole traffic patterns, for memory and timing tests. */
import { BulkPcap } from './pcap.js';

/** A pcap of `n` SYNs from distinct spoofed sources to one server, 10 us apart (each a connection that never goes on). */
export function synFlood(n: number): Buffer {
  const p = new BulkPcap(n);
  for (let i = 0; i < n; i++) p.tcp(i * 10, 0x0a000000 + (i >>> 8), 0xc0000201, 1024 + (i & 0xff) * 200, 80, (i * 2654435761) >>> 0, 0, 0x02);
  return p.buf;
}

/**
 * A busy server's short connections: `rate` a second for `seconds`, each a handshake
 * and a clean close by the client, 7 segments 10 µs apart (in time order for rates up
 * to 16,000 a second). TIME-WAIT keeps about 60 * `rate` of them alive at once. Made,
 * not captured: for memory and timing, never as ground truth.
 */
export function shortConnections(rate: number, seconds: number): Buffer {
  const count = rate * seconds;
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
  return p.buf;
}
