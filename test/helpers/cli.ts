/** Running the CLI as users do: the built bundle `bin/tcpsleuth.js`, in a child Node process. */
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './env.js';

export const BIN = join(REPO, 'bin', 'tcpsleuth.js');

/** Room for the biggest listings and reports the tests ask for. */
const MAX_BUFFER = 256 * 1024 * 1024;

export interface Run {
  /** Exit status; -1 when the process ended without one (killed by a signal, output over the limit). */
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Standard input; empty when absent, so a command reading `-` never waits. */
  input?: Buffer | string;
  /** Variables set over the test process's environment. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

function exitCode(err: { code?: unknown } | null): number {
  if (err === null) return 0;
  return typeof err.code === 'number' ? err.code : -1;
}

/** `tcpsleuth ARGS`; resolves (never rejects) with the exit status and both outputs. */
export function run(args: readonly string[], input?: Buffer | string, o: Omit<RunOptions, 'input'> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const env = o.env === undefined ? undefined : { ...process.env, ...o.env };
    const child = execFile(process.execPath, [BIN, ...args], { maxBuffer: MAX_BUFFER, encoding: 'utf8', env, cwd: o.cwd }, (err, stdout, stderr) => {
      resolve({ code: exitCode(err), stdout, stderr });
    });
    child.stdin!.end(input ?? '');
  });
}

/** As run(), standard output kept as bytes (for commands that write captures). */
export function runBinary(args: readonly string[], input?: Buffer): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { maxBuffer: MAX_BUFFER, encoding: 'buffer' }, (err, stdout, stderr) => {
      resolve({ code: exitCode(err), stdout, stderr: stderr.toString() });
    });
    child.stdin!.end(input ?? Buffer.alloc(0));
  });
}

/** run(), blocking: for tests that run the CLI at collection time or in a loop of their own. */
export function runSync(args: readonly string[], o: RunOptions = {}): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input: o.input ?? '',
    encoding: 'utf8',
    maxBuffer: MAX_BUFFER,
    env: o.env === undefined ? undefined : { ...process.env, ...o.env },
    cwd: o.cwd,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The JSON document `tcpsleuth ARGS` prints; throws, with its standard error, when it fails. */
export function runJson<T>(args: readonly string[], o: RunOptions = {}): T {
  const r = runSync(args, o);
  if (r.code !== 0) throw new Error(`tcpsleuth ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
