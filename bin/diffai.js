#!/usr/bin/env node
// Thin launcher (CommonJS, see bin/package.json): `npm run build` bundles the CLI into one
// file with a code cache (scripts/bundle.js), which starts faster than the ES modules it is
// made of; load-bundle.js loads it.
const { cli } = require('./load-bundle.js').loadBundle();

cli.writeStdoutDirectly();

cli.main(cli.parseArgs()).then((code) => {
  process.exitCode = code;
});
