// Writes a copy of a pcap (Ethernet, little-endian) with every frame inside VXLAN:
// outer Ethernet, IPv4 192.0.2.1 <-> 192.0.2.2, UDP to 4789, VNI 42. The outer
// direction follows the inner IPv4 source (its last byte's parity), the UDP source
// port varies as a VTEP's entropy port does. For the cost of decapsulation
// (docs/performance.md, "Tunnels"): node bench/wrap-vxlan.mjs IN.pcap OUT.pcap
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

const [, , inPath, outPath] = process.argv;
if (!inPath || !outPath) {
  console.error('usage: node bench/wrap-vxlan.mjs IN.pcap OUT.pcap');
  process.exit(2);
}
const OUTER = 14 + 20 + 8 + 8;
const fin = openSync(inPath, 'r');
const fout = openSync(outPath, 'w');
const header = Buffer.alloc(24);
readSync(fin, header, 0, 24, 0);
if (header.readUInt32LE(0) !== 0xa1b2c3d4 || header.readUInt32LE(20) !== 1) {
  console.error(`${inPath}: not a little-endian microsecond Ethernet pcap`);
  process.exit(2);
}
writeSync(fout, header);
const rec = Buffer.alloc(16);
const frame = Buffer.alloc(1 << 20);
const out = Buffer.alloc(16 + OUTER + (1 << 20));
let pos = 24;
let n = 0;
while (readSync(fin, rec, 0, 16, pos) === 16) {
  const cap = rec.readUInt32LE(8);
  const orig = rec.readUInt32LE(12);
  if (cap > frame.length) throw new Error(`record ${n + 1}: ${cap} bytes`);
  readSync(fin, frame, 0, cap, pos + 16);
  pos += 16 + cap;
  const a = frame[14 + 15] & 1;
  rec.copy(out, 0);
  out.writeUInt32LE(cap + OUTER, 8);
  out.writeUInt32LE(orig + OUTER, 12);
  let o = 16;
  Buffer.from([2, 0x98, 0, 0, 0, a ? 1 : 2, 2, 0x98, 0, 0, 0, a ? 2 : 1, 0x08, 0x00]).copy(out, o);
  o += 14;
  const ipLen = 20 + 8 + 8 + orig;
  Buffer.from([0x45, 0, ipLen >> 8, ipLen & 255, 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, a ? 2 : 1, 192, 0, 2, a ? 1 : 2]).copy(out, o);
  o += 20;
  out.writeUInt16BE(40000 + (n % 7), o);
  out.writeUInt16BE(4789, o + 2);
  out.writeUInt16BE(8 + 8 + orig, o + 4);
  out.writeUInt16BE(0, o + 6);
  o += 8;
  Buffer.from([0x08, 0, 0, 0, 0, 0, 42, 0]).copy(out, o);
  o += 8;
  frame.copy(out, o, 0, cap);
  writeSync(fout, out, 0, o + cap);
  n++;
}
closeSync(fin);
closeSync(fout);
console.log(`${outPath}: ${n} frames in VXLAN`);
