// The CLI as one module per thread (dist/bundle/), made from tsc's output in dist/.
//
// Node 20 loads the hundred-odd modules of dist/ one by one: resolving, reading and
// compiling them was a good part of a small capture's run (docs/performance.md).
// The unbundled modules stay in dist/ for the tests that import them.
//
// Each thread's module sits beside the CLI's, as in dist/ the worker modules sit
// beside the modules that start them: new URL('./offload-worker.js', import.meta.url)
// finds it either way. Paths the code takes from import.meta.url ('../../package.json',
// the repository root for the live capture bindings) are two levels up in both.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

await build({
  absWorkingDir: root,
  entryPoints: {
    main: 'dist/cli/main.js',
    'offload-worker': 'dist/track/offload-worker.js',
    worker: 'dist/parallel/worker.js',
  },
  outdir: 'dist/bundle',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The native capture bindings are loaded at run time, only by `live`, and may be missing;
  // prom-client only by `live --metrics`: every other command starts without parsing it.
  external: ['cap', 'pcap', 'prom-client'],
  // commander is CommonJS: its require() of Node's modules needs a require in an ES module.
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
  sourcemap: true,
  logLevel: 'warning',
});
