#!/usr/bin/env node
// npm run bench [-- CAPTURE] [--size 1G] [--rounds 3]
//
// Measures, in one run and alternating the tools round by round:
//   tcpsleuth analyze --format json   (full analysis, JSON written to /dev/null; also --threads 1 and 2, the table, and from a pipe)
//   tshark -q -z conv,tcp
//   tcptrace -n
//   tcpdump -r F -w /dev/null
// and prints median wall time, packets/s, MB/s, peak RSS (/usr/bin/time -v) and
// tcpsleuth's ratio to each: of the medians, and the median of each round's ratio.
// Without CAPTURE it makes one from real kernel traffic between two network
// namespaces (bench/make-capture.sh, needs root).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, totalmem } from 'node:os';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const size = opt('--size', '1G');
const rounds = Number(opt('--rounds', '3'));
let capture = args[0];

if (!capture) {
  const dir = join(repo, 'bench', 'work');
  mkdirSync(dir, { recursive: true });
  capture = join(dir, `bench-${size}.pcap`);
  if (!existsSync(capture)) {
    console.error(`bench: making ${capture} (${size}) from real kernel traffic...`);
    execFileSync('bash', [join(here, 'make-capture.sh'), capture, size], { stdio: 'inherit' });
  }
}

const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const bytes = statSync(capture).size;
const { readCapture } = await import(join(repo, 'dist', 'capture', 'read-capture.js'));
const counted = await readCapture(capture, { onInterface() {}, onWarning() {}, onFrame() {} });
const packets = counted.packets;

const tools = [
  { name: 'tcpsleuth analyze', cmd: [process.execPath, join(repo, 'bin', 'tcpsleuth.js'), 'analyze', '--format', 'json', capture] },
  // Everything on one thread (the default works out Zeek's conn_state on a second one).
  { name: 'tcpsleuth analyze --threads 1', cmd: [process.execPath, join(repo, 'bin', 'tcpsleuth.js'), 'analyze', '--format', 'json', '--threads', '1', capture] },
  // The sharded path (--threads 2): each thread reads the whole capture; listed to show whether it pays here.
  { name: 'tcpsleuth analyze --threads 2', cmd: [process.execPath, join(repo, 'bin', 'tcpsleuth.js'), 'analyze', '--format', 'json', '--threads', '2', capture] },
  { name: 'tcpsleuth analyze --format table', cmd: [process.execPath, join(repo, 'bin', 'tcpsleuth.js'), 'analyze', capture] },
  // Standard input, as `tcpdump -w - | tcpsleuth analyze -` gives it (CPU time includes cat's).
  { name: 'tcpsleuth analyze --format json - (piped from cat)', cmd: ['sh', '-c', 'cat "$1" | "$2" "$3" analyze --format json -', 'sh', capture, process.execPath, join(repo, 'bin', 'tcpsleuth.js')] },
  { name: 'tshark -z conv,tcp', cmd: ['tshark', '-n', '-q', '-z', 'conv,tcp', '-r', capture], need: 'tshark' },
  { name: 'tcptrace -n', cmd: ['tcptrace', '-n', capture], need: 'tcptrace' },
  { name: 'tcpdump -w /dev/null', cmd: ['tcpdump', '-r', capture, '-w', '/dev/null'], need: 'tcpdump' },
].filter((t) => !t.need || have(t.need));

function once(t) {
  const r = spawnSync('/usr/bin/time', ['-v', ...t.cmd], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  const err = r.stderr.toString();
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(err);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
  const user = /User time \(seconds\): ([\d.]+)/.exec(err);
  const sys = /System time \(seconds\): ([\d.]+)/.exec(err);
  if (!wall || !rss || !user || !sys) throw new Error(`${t.name}: no timing (exit ${r.status}): ${err.slice(-400)}`);
  // CPU time (user + system) is printed beside wall time: on a shared machine it varies less.
  return { wall: Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]), cpu: Number(user[1]) + Number(sys[1]), rssMB: Number(rss[1]) / 1024, status: r.status };
}

const results = new Map(tools.map((t) => [t.name, []]));
for (let r = 0; r < rounds; r++) {
  // Rotate the order each round so no tool always runs on a warm or cold cache.
  for (let i = 0; i < tools.length; i++) {
    const t = tools[(i + r) % tools.length];
    const m = once(t);
    results.get(t.name).push(m);
    console.error(`round ${r + 1}: ${t.name}: ${m.wall.toFixed(2)} s (CPU ${m.cpu.toFixed(2)} s), ${m.rssMB.toFixed(0)} MB`);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = tools.map((t) => {
  const ms = results.get(t.name);
  const wall = median(ms.map((m) => m.wall));
  return { tool: t.name, wall, cpu: median(ms.map((m) => m.cpu)), pps: packets / wall, mbps: bytes / 1e6 / wall, rss: Math.max(...ms.map((m) => m.rssMB)) };
});
const ours = rows[0];
// The ratio of the two times of each round, median over the rounds: on a shared machine whose
// speed drifts from one minute to the next, times taken close together compare better than
// two medians taken over the whole run.
const oursWalls = results.get(ours.tool).map((m) => m.wall);
const pairedRatio = (name) => median(results.get(name).map((m, r) => m.wall / oursWalls[r]));
console.log(`capture: ${capture}: ${(bytes / 1e6).toFixed(0)} MB, ${packets} packets; ${rounds} rounds; ${cpus().length} cores (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB; node ${process.version}`);
console.log('| tool | median wall | median CPU (user+sys) | packets/s | MB/s | peak RSS | tcpsleuth speed vs it | same round, median |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const ratio = r === ours ? '1' : `${(r.wall / ours.wall).toFixed(2)}x`;
  const paired = r === ours ? '1' : `${pairedRatio(r.tool).toFixed(2)}x`;
  console.log(`| ${r.tool} | ${r.wall.toFixed(2)} s | ${r.cpu.toFixed(2)} s | ${Math.round(r.pps).toLocaleString('en-US')} | ${r.mbps.toFixed(0)} | ${r.rss.toFixed(0)} MB | ${ratio} | ${paired} |`);
}
