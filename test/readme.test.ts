import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHIPPED_KINDS } from '../src/report/json-schema.js';
import { runSync } from './helpers/cli.js';
import { REPO } from './helpers/env.js';

/** The README is a manual a newcomer can trust: short, its sample real, its links and options there. */

const README = readFileSync(join(REPO, 'README.md'), 'utf8');

function cli(args: string[]): string {
  return runSync(args, { cwd: REPO, env: { COLUMNS: '', NO_COLOR: '' } }).stdout;
}

describe('README.md', () => {
  it('is a manual, not a notebook: at most 400 lines, with a table of contents', () => {
    expect(README.split('\n').length).toBeLessThanOrEqual(400);
    expect(README).toContain('## Contents');
  });

  it('its full sample output is what the command prints', () => {
    const m = /The table output of `(captures\/[\w.-]+)`, in full[^\n]*\n[^\n]*\n\n```\n([\s\S]*?)\n```/.exec(README);
    expect(m, 'the sample block').not.toBeNull();
    expect(cli(['analyze', m![1]!]).trimEnd()).toBe(m![2]!);
  });

  it('every relative link and image points to a file of the repository, and every anchor to a heading', () => {
    const links = [...README.matchAll(/\]\(([^)\s]+)\)/g)].map((x) => x[1]!).filter((l) => !/^https?:/.test(l));
    expect(links.length).toBeGreaterThan(10);
    for (const link of links) {
      const [path, anchor] = link.split('#') as [string, string | undefined];
      const file = path === '' ? join(REPO, 'README.md') : join(REPO, path);
      expect(existsSync(file), link).toBe(true);
      if (anchor !== undefined && file.endsWith('.md')) {
        const slugs = readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => /^#{1,6} /.test(l))
          .map((l) => l.replace(/^#+ /, '').toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-'));
        expect(slugs, link).toContain(anchor);
      }
    }
  });

  // A detector not yet shipped (its details declared in its own file) is in none of the docs.
  it('names every shipped finding kind, and each has its section in docs/findings.md', () => {
    for (const k of SHIPPED_KINDS) expect(README).toContain(`[\`${k}\`](docs/findings.md#${k})`);
  });

  it('every --option it names exists in some command', () => {
    const help = ['analyze', 'packets', 'annotate', 'live', 'interfaces'].map((c) => cli([c, '--help'])).join('\n') + cli(['--help']);
    const named = new Set([...README.matchAll(/(?<![\w-])--([a-z][a-z-]+)/g)].map((x) => x[1]!));
    // Options of other programs the recipes run.
    const theirs = new Set(['allow-scripts', 'version', 'format', 'help']);
    for (const o of named) if (!theirs.has(o)) expect(help, `--${o}`).toContain(`--${o}`);
  });
});
