/**
 * Runs the real command line (`node bin/diffai.js …`) in a child process. It uses dist/, so
 * `npm run build` must have run (`npm ci` does it through the prepare script); without it
 * the CLI tests fail with a message saying so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ROOT } from './files.js';

export const BIN = join(ROOT, 'bin', 'diffai.js');
const BUILT = [join(ROOT, 'dist', 'src', 'cli', 'main.js'), join(ROOT, 'dist', 'src', 'cli', 'diffai.cjs'), join(ROOT, 'build', 'kernels.wasm')];

export function requireBuild(): void {
  const missing = BUILT.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new Error(`CLI tests need the build (missing ${missing.join(', ')}): run \`npm run build\` first`);
  }
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function childEnv(env: Record<string, string | undefined>): Record<string, string> {
  const base = { ...process.env };
  for (const k of ['NO_COLOR', 'FORCE_COLOR', 'NODE_OPTIONS']) delete base[k];
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...base, ...env })) if (v !== undefined) merged[k] = v;
  return merged;
}

/**
 * Runs diffai with `args` from the repository root (synchronously). Colour variables of
 * the parent are removed unless given in `env`, so each test states the environment it means.
 */
export function runCli(args: string[], env: Record<string, string | undefined> = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv(env), encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same in the background, so that concurrent tests overlap their process start-up. */
export function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    // Kills a hung child; generous, as a loaded 2-core machine runs many of these at once.
    const timer = setTimeout(() => child.kill(), 90_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Exit 2, nothing on stdout, exactly one stderr line starting `diffai: <prefix>`, no stack trace. */
export function expectTrouble(r: CliResult, prefix: string, problem?: RegExp): string {
  expect(r.status, `exit code (stderr: ${r.stderr})`).toBe(2);
  expect(r.stdout, 'stdout must be empty').toBe('');
  const lines = r.stderr.split('\n');
  expect(lines.length, `exactly one stderr line, got: ${JSON.stringify(r.stderr)}`).toBe(2);
  expect(lines[1]).toBe('');
  const line = lines[0]!;
  expect(line.startsWith(`diffai: ${prefix}`), `stderr ${JSON.stringify(line)} should start with ${JSON.stringify(`diffai: ${prefix}`)}`).toBe(true);
  expect(line).not.toMatch(/\n\s+at |internal error|Error:/);
  if (problem) expect(line.slice(`diffai: ${prefix}`.length)).toMatch(problem);
  return line;
}
