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

const [out, rateArg = '1000', secondsArg = '600'] = process.argv.slice(2);
if (!out) {
  process.stderr.write('usage: node bench/short-connections.mjs OUT.pcap [RATE] [SECONDS]\n');
  process.exit(2);
}
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const FRAME = 14 + 20 + 20;
const RECORD = 16 + FRAME;
const count = rate * seconds;
const buf = Buffer.alloc(24 + RECORD * count * 7);
// pcap file header: microseconds, version 2.4, snaplen 65535, Ethernet.
buf.writeUInt32LE(0xa1b2c3d4, 0);
buf.writeUInt16LE(2, 4);
buf.writeUInt16LE(4, 6);
buf.writeUInt32LE(65535, 16);
buf.writeUInt32LE(1, 20);
let o = 24;

function segment(us, src, dst, sport, dport, seq, ack, flags) {
  buf.writeUInt32LE(1_700_000_000 + Math.floor(us / 1e6), o);
  buf.writeUInt32LE(us % 1e6, o + 4);
  buf.writeUInt32LE(FRAME, o + 8);
  buf.writeUInt32LE(FRAME, o + 12);
  const eth = o + 16;
  buf.writeUInt16BE(0x0800, eth + 12);
  const ip = eth + 14;
  buf[ip] = 0x45;
  buf.writeUInt16BE(40, ip + 2);
  buf[ip + 8] = 64;
  buf[ip + 9] = 6;
  buf.writeUInt32BE(src >>> 0, ip + 12);
  buf.writeUInt32BE(dst >>> 0, ip + 16);
  const tcp = ip + 20;
  buf.writeUInt16BE(sport, tcp);
  buf.writeUInt16BE(dport, tcp + 2);
  buf.writeUInt32BE(seq >>> 0, tcp + 4);
  buf.writeUInt32BE(ack >>> 0, tcp + 8);
  buf[tcp + 12] = 0x50;
  buf[tcp + 13] = flags;
  buf.writeUInt16BE(64240, tcp + 14);
  o += RECORD;
}

const SERVER = 0x0a000002;
for (let i = 0; i < count; i++) {
  const us = Math.floor((i * 1e6) / rate);
  // 50,000 ports per client address: no tuple is reused within TIME-WAIT.
  const client = 0x0a000001 + Math.floor(i / 50_000) * 256;
  const port = 1024 + (i % 50_000);
  const a = Math.imul(i, 7919) >>> 0;
  const b = Math.imul(i, 104729) >>> 0;
  segment(us, client, SERVER, port, 80, a, 0, 0x02);
  segment(us + 10, SERVER, client, 80, port, b, a + 1, 0x12);
  segment(us + 20, client, SERVER, port, 80, a + 1, b + 1, 0x10);
  segment(us + 30, client, SERVER, port, 80, a + 1, b + 1, 0x11);
  segment(us + 40, SERVER, client, 80, port, b + 1, a + 2, 0x10);
  segment(us + 50, SERVER, client, 80, port, b + 1, a + 2, 0x11);
  segment(us + 60, client, SERVER, port, 80, a + 2, b + 2, 0x10);
}
writeFileSync(out, buf.subarray(0, o));
process.stdout.write(`${out}: ${count} connections, ${count * 7} packets, ${o} bytes\n`);
