/**
 * Starts compiling the WASM kernels before a command reads the models' headers: V8 compiles
 * on its own threads meanwhile, and the engine takes the result (src/engine/kernels.ts,
 * compileKernels). A failure is not reported here but where the kernels are used.
 */
import { compileKernels } from '../engine/kernels.js';

export function startCompilingKernels(): void {
  compileKernels().catch(() => {});
}
