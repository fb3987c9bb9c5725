// Loads the CLI bundle (dist/src/cli/diffai.cjs, made by scripts/bundle.js) the way require()
// would, plus V8's code cache saved beside it at build time: Node then skips most of the
// parsing and compiling of the bundle at every start. A cache made by another Node or V8 is
// rejected by V8 and the bundle compiles as usual. The bundle is already wrapped in the
// function Module.wrap would put around it. (It loads its externals with require(): a vm
// script has no dynamic import().)
const { readFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

const BUNDLE = join(__dirname, '..', 'dist', 'src', 'cli', 'diffai.cjs');
const CACHE = `${BUNDLE}.cache`;

/** @returns {{ cli: typeof import('../dist/src/cli/main.js'), script: import('node:vm').Script }} */
function loadBundle() {
  let cachedData;
  try {
    cachedData = readFileSync(CACHE);
  } catch {
    // No cache (not built, or removed): compile as usual.
  }
  const script = new vm.Script(readFileSync(BUNDLE, 'utf8'), { filename: BUNDLE, cachedData });
  const module = { exports: /** @type {typeof import('../dist/src/cli/main.js')} */ ({}) };
  script.runInThisContext()(module.exports, Module.createRequire(BUNDLE), module, BUNDLE, dirname(BUNDLE));
  return { cli: module.exports, script };
}

module.exports = { BUNDLE, CACHE, loadBundle };
