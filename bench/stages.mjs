#!/usr/bin/env node
// npm run bench:stages [-- CAPTURE] [--rounds 5]   (CAPTURE: bench/work/bench-1G.pcap, made by npm run bench)
//
// Where the time of a full analysis goes: the analysis built up stage by stage,
// each stage a process of its own, the stages alternated round by round. Each row
// adds one part of the work to the row before it:
//   loop      the minimal Node loop: 8 MiB reads, Ethernet/IPv4/TCP, a Map of 4-tuples
//   read      tcpsleuth's reader: every pcap/pcapng record framed, nothing else
//   decode    + every layer decoded (link, VLAN, IP, TCP and its options)
//   track     + connection tracking: both endpoints' RFC 9293 state machines, the kernel
//               timers, Zeek's conn_state and history on their second thread; no detector
//   detect    + every detector: the analysis the table reports
//   sequence  + Wireshark's sequence analysis: the analysis the JSON reports
//   json      + the JSON written (to /dev/null): `tcpsleuth analyze --format json`
// For each it prints the median wall time (process start to exit), the main thread's
// CPU time, the whole process's CPU time (V8's compiler and collector threads and
// the Zeek thread included) and the speed; then what each stage adds. Needs a built
// tree (npm run build). Makes no capture: give one, or run `npm run bench` first.
import { spawnSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpus } from 'node:os';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const dist = (p) => pathToFileURL(join(repo, 'dist', p)).href;

const STAGES = ['loop', 'read', 'decode', 'track', 'detect', 'sequence', 'json'];

/** This thread's CPU time so far, ms (/proc: utime + stime, in clock ticks of 10 ms). */
function mainThreadCpuMs() {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** The reference loop: 8 MiB reads, Ethernet/IPv4/TCP, one Map entry per 4-tuple. */
function minimalLoop(file) {
  const fd = openSync(file, 'r');
  const CHUNK = 8 << 20;
  const buf = Buffer.allocUnsafe(CHUNK + 262144 + 16);
  let have = readSync(fd, buf, 0, buf.length, null);
  let pos = 24;
  const flows = new Map();
  for (;;) {
    if (pos + 16 > have || pos + 16 + buf.readUInt32LE(pos + 8) > have) {
      buf.copy(buf, 0, pos, have);
      have -= pos;
      pos = 0;
      const n = readSync(fd, buf, have, buf.length - have, null);
      if (n === 0) break;
      have += n;
      continue;
    }
    const incl = buf.readUInt32LE(pos + 8);
    const p = pos + 16;
    pos = p + incl;
    if (buf.readUInt16BE(p + 12) !== 0x0800 || buf[p + 23] !== 6) continue;
    const t = p + 14 + (buf[p + 14] & 15) * 4;
    const a = buf.readUInt32BE(p + 26) * 65536 + buf.readUInt16BE(t);
    const b = buf.readUInt32BE(p + 30) * 65536 + buf.readUInt16BE(t + 2);
    const key = a < b ? `${a}-${b}` : `${b}-${a}`;
    const f = flows.get(key);
    if (f === undefined) flows.set(key, { packets: 1, bytes: incl });
    else {
      f.packets++;
      f.bytes += incl;
    }
  }
  return flows.size;
}

/** One stage, in this process; prints its CPU times as JSON. */
async function runStage(stage, file) {
  if (stage === 'loop') minimalLoop(file);
  else if (stage === 'read' || stage === 'decode') {
    const { readCapture } = await import(dist('capture/read-capture.js'));
    const { Decoder } = await import(dist('decode/decoder.js'));
    const decoder = new Decoder();
    let tcp = 0;
    const onFrame = stage === 'read' ? () => undefined : (f) => void (decoder.decode(f).kind === 'tcp' && tcp++);
    await readCapture(file, { onInterface() {}, onWarning() {}, onFrame });
  } else if (stage === 'json') {
    const { main } = await import(pathToFileURL(join(repo, 'dist', 'bundle', 'main.js')).href);
    const code = await main([process.argv[0], 'tcpsleuth', 'analyze', '--format', 'json', file]);
    if (code !== 0) throw new Error(`analyze exited with ${code}`);
  } else {
    const { analyzeCaptures } = await import(dist('analyze.js'));
    // As the CLI runs it: Zeek's verdicts on the second thread.
    const hooks = { offload: true, sequenceAnalysis: stage === 'sequence', ...(stage === 'track' ? { detectors: [] } : {}) };
    await analyzeCaptures([file], undefined, undefined, hooks);
  }
  const cpu = process.cpuUsage();
  process.stderr.write(`STAGE ${JSON.stringify({ main: mainThreadCpuMs(), process: (cpu.user + cpu.system) / 1000 })}\n`);
}

const args = process.argv.slice(2);
if (args[0] === '--run') {
  await runStage(args[1], args[2]);
} else {
  const i = args.indexOf('--rounds');
  const rounds = i >= 0 ? Number(args.splice(i, 2)[1]) : 5;
  const capture = args[0] ?? join(repo, 'bench', 'work', 'bench-1G.pcap');
  if (!existsSync(capture)) {
    process.stderr.write(`bench:stages: no capture ${capture} (give one, or run npm run bench to make it)\n`);
    process.exit(2);
  }
  const bytes = statSync(capture).size;
  const runs = new Map(STAGES.map((s) => [s, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < STAGES.length; k++) {
      const stage = STAGES[(k + r) % STAGES.length];
      const t0 = process.hrtime.bigint();
      const out = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--run', stage, capture], { stdio: ['ignore', 'ignore', 'pipe'] });
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const line = /STAGE (\{.*\})/.exec(out.stderr.toString());
      if (out.status !== 0 || !line) throw new Error(`stage ${stage}: exit ${out.status}: ${out.stderr.toString().slice(-400)}`);
      const m = JSON.parse(line[1]);
      runs.get(stage).push({ wall, main: m.main / 1000, process: m.process / 1000 });
      process.stderr.write(`round ${r + 1}: ${stage}: ${wall.toFixed(2)} s, main thread ${(m.main / 1000).toFixed(2)} s, process ${(m.process / 1000).toFixed(2)} s\n`);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`capture: ${capture}: ${(bytes / 1e6).toFixed(0)} MB; ${rounds} rounds; ${cpus().length} cores; node ${process.version}`);
  console.log(`1 GB/s on this capture is ${(bytes / 1e9).toFixed(2)} s of wall time: at most ${((2 * bytes) / 1e9).toFixed(2)} s of CPU time on two cores.`);
  console.log('| stage | median wall | MB/s | main thread CPU | process CPU | main thread CPU added |');
  console.log('|---|---|---|---|---|---|');
  let before = null;
  for (const s of STAGES) {
    const ms = runs.get(s);
    const wall = median(ms.map((m) => m.wall));
    const main = median(ms.map((m) => m.main));
    const proc = median(ms.map((m) => m.process));
    // What the stage adds to the one before, round by round (the loop is a reference, not a stage).
    const added = before === null || s === 'read' ? '' : `${median(ms.map((m, r) => m.main - runs.get(before)[r].main)).toFixed(2)} s`;
    console.log(`| ${s} | ${wall.toFixed(2)} s | ${((bytes / 1e6) / wall).toFixed(0)} | ${main.toFixed(2)} s | ${proc.toFixed(2)} s | ${added} |`);
    before = s;
  }
}
