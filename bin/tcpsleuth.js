#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ and bundled to dist/bundle/ by `npm install` (prepare).
import { main } from '../dist/bundle/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    // Last-resort guard: never print a stack trace to users.
    process.stderr.write(`tcpsleuth: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 70;
  },
);
