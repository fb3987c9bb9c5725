/**
 * The text module (build/text.wasm, from assembly/text/): Number#toString's text of
 * doubles (Ryū) and output written from a tape (json-tape.ts). Compiled once per process,
 * instantiated per user: each writer has its own memory (about 2.5 MB).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface TextExports {
  memory: WebAssembly.Memory;
  init(): void;
  layout(): number;
  outPtr(): number;
  /** Writes Number#toString's text of x at `at` (25 bytes at most); returns its length. */
  shortest(x: number, at: number): number;
  /** Runs the first n operations of the tape into the output; returns the bytes written. */
  run(n: number): number;
}

/** Where an instance's regions are, and how large (assembly/text/index.ts layout()). */
export interface TextLayout {
  ops: number;
  numbers: number;
  bytes: number;
  texts: number;
  arena: number;
  out: number;
  opsCapacity: number;
  numbersCapacity: number;
  bytesCapacity: number;
  textsCapacity: number;
  arenaCapacity: number;
  outCapacity: number;
}

/** Beside the kernels: build/ two directories up (src/render → <repo>/build; dist/src/render → dist/build). */
export const TEXT_MODULE_URL = new URL('../../build/text.wasm', import.meta.url);

let compiled: WebAssembly.Module | undefined;

/** A ready instance (its tables filled, its regions reserved); throws when the build lacks the module. */
export function textInstance(): { exports: TextExports; layout: TextLayout } {
  compiled ??= new WebAssembly.Module(readFileSync(fileURLToPath(TEXT_MODULE_URL)));
  const exports = new WebAssembly.Instance(compiled, {
    env: {
      abort: () => {
        throw new Error('text module aborted');
      },
    },
  }).exports as unknown as TextExports;
  exports.init();
  const at = exports.layout();
  const v = new Int32Array(exports.memory.buffer, at, 12);
  const layout: TextLayout = {
    ops: v[0]!,
    numbers: v[1]!,
    bytes: v[2]!,
    texts: v[3]!,
    arena: v[4]!,
    out: v[5]!,
    opsCapacity: v[6]!,
    numbersCapacity: v[7]!,
    bytesCapacity: v[8]!,
    textsCapacity: v[9]!,
    arenaCapacity: v[10]!,
    outCapacity: v[11]!,
  };
  return { exports, layout };
}
