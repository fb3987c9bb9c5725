// Runs one diffai command in this process and reports its own time and peak RSS as JSON on
// stderr's last line, so the harness measures the real CLI path (the bundle bin/diffai.js
// loads, with its code cache) without external tools.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** @type {{ loadBundle(): { cli: typeof import('../dist/src/cli/main.js') } }} */
const launcher = createRequire(import.meta.url)('../bin/load-bundle.js');
const { main } = launcher.loadBundle().cli;

/**
 * Peak RSS in KB. Linux keeps getrusage's maxRSS across fork and exec, so a child of the
 * harness (which held large buffers while generating inputs) would report the harness's
 * peak: /proc/self/status VmHWM belongs to this process's own memory.
 */
function peakRssKB() {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // Not Linux: fall back below.
  }
  return process.resourceUsage().maxRSS;
}

const started = performance.now();
const code = await main(process.argv.slice(2));
const ms = performance.now() - started;
// CPU time of the whole process (all threads, start-up included): steadier than wall time on a loaded machine.
const cpu = process.cpuUsage();
process.stderr.write(`${JSON.stringify({ code, ms, cpuMs: (cpu.user + cpu.system) / 1000, maxRssKB: peakRssKB() })}\n`);
