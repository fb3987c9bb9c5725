// Runs the CLI from its ES modules in dist/ (not the bundle bin/diffai.js loads), so a module
// resolve hook sees every module the command line loads (test/startup.test.ts).
import { main } from '../../dist/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
