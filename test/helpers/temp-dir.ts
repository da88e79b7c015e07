/** Temporary directories for the files the tests write. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { toBuf, type Bytes } from './bytes.js';

/** A directory under os.tmpdir(), made on first use and removed by cleanup(). */
export class TempDir {
  private dir: string | null = null;

  get path(): string {
    this.dir ??= mkdtempSync(join(tmpdir(), 'tcpsleuth-test-'));
    return this.dir;
  }

  /** Write `data` to `name` in the directory; returns the full path. */
  write(name: string, data: Bytes): string {
    const p = join(this.path, name);
    writeFileSync(p, toBuf(data));
    return p;
  }

  cleanup(): void {
    if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}

/** A TempDir removed after the test file's tests (call at module or describe level). */
export function useTempDir(): TempDir {
  const d = new TempDir();
  afterAll(() => d.cleanup());
  return d;
}
