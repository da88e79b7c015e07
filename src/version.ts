import { readFileSync } from 'node:fs';

/**
 * The tool's name and version (package.json's), and the version of the JSON
 * document's format: its minor grows when fields are added, its major would only
 * if one were renamed or removed, which the contract rules out.
 */
export const TOOL_NAME = 'tcpsleuth';
export const FORMAT_VERSION = '1.1';

/** package.json is one level above dist/version.js and two above dist/bundle/main.js, which inlines this module. */
function readVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === TOOL_NAME && pkg.version) return pkg.version;
    } catch {
      // Not there: the other place.
    }
  }
  return '0.0.0';
}

export const TOOL_VERSION = readVersion();
