// Node-only: WebAssembly features that this Node's V8 implements but has not yet turned on.
import v8 from 'node:v8';
import { relaxedSimdSupported } from '../wasm/gemmKernels';

/**
 * Relaxed SIMD (the fused multiply-add the flow's products use) is on by default from V8 11.4 (Chromium
 * 114, Node 21); Node 20's V8 11.3 has the same implementation behind --experimental-wasm-relaxed-simd.
 * Node warns that flags changed after start-up may behave unpredictably; this one is safe to change late
 * because V8 reads its WebAssembly feature flags afresh at every validation and compilation, and it is set
 * before the kernels are compiled (helper threads get the compiled module). Newer V8 versions already validate
 * relaxed SIMD and are left alone.
 */
export function enableRelaxedSimd(): boolean {
  if (!relaxedSimdSupported()) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return relaxedSimdSupported();
}
