// Runs one diffai command in this process and reports its own time and peak RSS as JSON on
// stderr's last line, so the harness measures the real CLI path without external tools.
import { main } from '../dist/src/cli/main.js';

const started = performance.now();
const code = await main(process.argv.slice(2));
const ms = performance.now() - started;
process.stderr.write(`${JSON.stringify({ code, ms, maxRssKB: process.resourceUsage().maxRSS })}\n`);
