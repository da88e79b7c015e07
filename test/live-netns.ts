import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { BIN } from './helpers/cli.js';
import { REPO } from './helpers/env.js';

/** Shared by the live capture tests: who may run them, namespaces, processes. */

export const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

const require = createRequire(import.meta.url);

function loads(what: () => unknown): boolean {
  try {
    what();
    return true;
  } catch {
    return false;
  }
}

export const HAVE_PCAP = loads(() => require(join(REPO, 'node_modules', 'pcap', 'build', 'Release', 'pcap_binding.node')));
export const HAVE_CAP = loads(() => require(join(REPO, 'node_modules', 'cap')));
export const HAVE_BINDING = HAVE_PCAP || HAVE_CAP;

export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Two network namespaces joined by a veth pair: A (client, 10.98.0.1) and B (server, 10.98.0.2). */
export class NetnsPair {
  readonly tag = `${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly a = `tsl-live-${this.tag}-a`;
  readonly b = `tsl-live-${this.tag}-b`;
  readonly ifA = 'tslA';
  readonly ifB = 'tslB';
  readonly addrA = '10.98.0.1';
  readonly addrB = '10.98.0.2';
  private made: string[] = [];

  up(): void {
    for (const ns of [this.a, this.b]) {
      execFileSync('ip', ['netns', 'add', ns]);
      this.made.push(ns);
    }
    // Made inside the namespaces: no name is ever taken in the root namespace.
    execFileSync('ip', ['link', 'add', this.ifA, 'netns', this.a, 'type', 'veth', 'peer', 'name', this.ifB, 'netns', this.b]);
    for (const [ns, dev, addr] of [
      [this.a, this.ifA, this.addrA],
      [this.b, this.ifB, this.addrB],
    ] as const) {
      execFileSync('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev]);
      execFileSync('ip', ['-n', ns, 'link', 'set', dev, 'up']);
      execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
  }

  down(): void {
    for (const ns of this.made) spawnSync('ip', ['netns', 'del', ns]);
    this.made = [];
  }
}

/** A child process whose output is collected as it comes, with waits on it. */
export class Proc {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private waiters: (() => void)[] = [];

  constructor(cmd: string, args: string[]) {
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      this.stdout += s;
      this.poke();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      this.stderr += s;
      this.poke();
    });
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code, signal) => {
        this.poke();
        resolve(code ?? (signal ? -1 : null));
      }),
    );
  }

  private poke(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when `test` holds for the output; rejects after `ms`. */
  async until(test: (p: Proc) => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!test(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}\nstdout: ${this.stdout.slice(-2000)}\nstderr: ${this.stderr.slice(-2000)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Only the process started here, by its PID. */
  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid) {
      try {
        process.kill(this.child.pid, signal);
      } catch {
        // already gone
      }
    }
  }
}

/**
 * The server side (namespace B): on BASE a server that reads the request, answers,
 * reads the EOF and never closes (CLOSE-WAIT leak); on BASE+1 one that answers and
 * waits (the client resets it); on BASE+3 a healthy one, which closes after the
 * client's close (closing at once let both FINs cross now and then: a simultaneous
 * close, an info finding the tests did not expect). Nothing listens on BASE+2.
 */
export const SERVER_PY = `
import socket, sys, threading, time
addr = sys.argv[1]; base = int(sys.argv[2])
def listen(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((addr, port)); s.listen(16); return s
held = []
def close_wait(ls):
    while True:
        c, _ = ls.accept(); c.recv(1000); c.sendall(b"200 OK\\n"); c.recv(1000); held.append(c)
def abortive(ls):
    while True:
        c, _ = ls.accept(); c.recv(1000); c.sendall(b"200 OK\\n")
        try: c.recv(1000)
        except OSError: pass
        c.close()
def healthy(ls):
    while True:
        c, _ = ls.accept(); c.recv(1000); c.sendall(b"200 OK\\n"); c.recv(1000); c.close()
for fn, off in ((close_wait, 0), (abortive, 1), (healthy, 3)):
    threading.Thread(target=fn, args=(listen(base + off),), daemon=True).start()
print("ready", flush=True)
time.sleep(float(sys.argv[3]))
`;

/** The client side (namespace A): each argument one exchange, in order. */
export const CLIENT_PY = `
import socket, struct, sys, time
addr = sys.argv[1]; base = int(sys.argv[2])
for w in sys.argv[3:]:
    if w == "abortive":
        s = socket.create_connection((addr, base + 1)); s.sendall(b"GET\\n"); s.recv(100)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); s.close()
    elif w == "refused":
        try: socket.create_connection((addr, base + 2))
        except ConnectionRefusedError: pass
    elif w == "closewait":
        s = socket.create_connection((addr, base)); s.sendall(b"GET\\n"); s.recv(100); s.close()
    elif w == "healthy":
        s = socket.create_connection((addr, base + 3)); s.sendall(b"GET\\n"); s.recv(100); s.close()
    time.sleep(0.1)
print("done", flush=True)
`;

export function python(ns: string, script: string, args: string[]): Proc {
  return new Proc('ip', ['netns', 'exec', ns, 'python3', '-c', script, ...args]);
}

/** tcpsleuth in a namespace; `ip netns exec` execs it, so the PID is tcpsleuth's own. */
export function tcpsleuth(ns: string, args: string[]): Proc {
  return new Proc('ip', ['netns', 'exec', ns, process.execPath, BIN, ...args]);
}

/** Run the client exchanges in A and wait for them. */
export async function client(pair: NetnsPair, base: number, steps: string[]): Promise<void> {
  const c = python(pair.a, CLIENT_PY, [pair.addrB, String(base), ...steps]);
  const code = await c.exited;
  if (code !== 0) throw new Error(`client failed (${code}): ${c.stderr}`);
}
