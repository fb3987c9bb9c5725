// Preloaded with --require by test/startup.test.ts: prints each require() request on stderr,
// so the test sees what the bundled CLI loads at run time (builtins and external packages).
const Module = require('node:module');

const load = Module._load;
Module._load = function (request, ...rest) {
  process.stderr.write(`REQUIRED ${request}\n`);
  return load.call(this, request, ...rest);
};
