// Bundles the command line into one CommonJS file, dist/src/cli/diffai.cjs, for start-up
// time: Node then reads and compiles one file instead of resolving and linking some hundred
// ES modules, and builtins come in through require() (an ES import of node:fs builds a
// module facade that loads Node's stream classes). Runs after tsc, from dist/, so it needs
// no network and no TypeScript plug-in. The bundle sits beside dist/src/cli/main.js so the
// kernels (../../build/kernels.wasm) and the worker (../engine/worker.cjs) resolve from it as
// from the modules it contains; the library entry (dist/src/index.js) is not bundled.
//
// The bundle is minified (whitespace and syntax; names are kept, error messages can show
// them) and is one function expression, as Module.wrap would make it: bin/load-bundle.js
// compiles the file as it reads it. Its text must stay ASCII, which V8 keeps one byte a
// character (test/startup.test.ts checks).
//
// Then V8's code cache of the bundle is saved beside it (diffai.cjs.cache), taken after a
// plain diff of two shipped fixtures ran, so it holds the functions a common run compiles.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

/** What both bundles share: one minified CommonJS file for Node 20. */
const common = {
  bundle: true,
  platform: /** @type {const} */ ('node'),
  format: /** @type {const} */ ('cjs'),
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  // import.meta.url of every bundled module is the bundle's own URL (importMetaUrl, set in the banner).
  define: { 'import.meta.url': 'importMetaUrl' },
  logLevel: /** @type {const} */ ('warning'),
};
const META_URL = "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;";

await build({
  ...common,
  entryPoints: ['dist/src/cli/main.js'],
  outfile: 'dist/src/cli/diffai.cjs',
  banner: { js: `(function (exports, require, module, __filename, __dirname) {\n${META_URL}` },
  footer: { js: '})' },
  // Loaded only when needed (yargs for lines the fast parser leaves to it, js-yaml for YAML
  // output), from node_modules as dependencies: not parsed at every start.
  external: ['yargs', 'js-yaml'],
  // …through require(), not import(): a script compiled with a code cache by node:vm (see
  // bin/load-bundle.js) has no dynamic import() without an experimental loader.
  supported: { 'dynamic-import': false },
});

// The engine's pool worker as one file too, beside dist/src/engine/worker.js (so the kernels'
// ../../build/kernels.wasm resolves alike): loading its ~40 ES modules took 50–70 ms of a
// worker's boot on the loaded 2-core VM (10–35 ms bundled), time a diff's second thread is
// not yet working. A plain CommonJS file; Node's Worker loads it by its extension.
await build({ ...common, entryPoints: ['dist/src/engine/worker.js'], outfile: 'dist/src/engine/worker.cjs', banner: { js: META_URL } });

const MAKE_CACHE = `
const { writeFileSync } = require('node:fs');
const { CACHE, loadBundle } = require('./bin/load-bundle.js');
const { cli, script } = loadBundle();
cli.writeStdoutDirectly(); // as bin/diffai.js: the cache then holds the functions of that path
cli.main(['fixtures/core/digits_mlp.safetensors', 'fixtures/core/digits_mlp_finetuned.safetensors']).then((code) => {
  if (code !== 0) throw new Error('the diff for the code cache failed');
  writeFileSync(CACHE, script.createCachedData());
});
`;
rmSync('dist/src/cli/diffai.cjs.cache', { force: true });
const made = spawnSync(process.execPath, ['-e', MAKE_CACHE], { stdio: ['ignore', 'ignore', 'inherit'] });
// Without a cache the CLI works as well, only starts a little slower.
if (made.status !== 0) console.warn('bundle: no code cache made (the CLI still works)');
