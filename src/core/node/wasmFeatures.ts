// Node-only: WebAssembly features that this Node's V8 implements but has not yet turned on.
import v8 from 'node:v8';
import { relaxedSimdSupported } from '../wasm/gemmKernels';

/**
 * Relaxed SIMD (the fused multiply-add the flow's products use) is on by default from V8 11.4 (Chromium
 * 114, Node 22); Node 20's V8 11.3 has the same implementation behind --experimental-wasm-relaxed-simd.
 * V8 reads the flag when it validates a module, so turning it on before the kernels are compiled suffices.
 * Newer engines already validate it and are left alone.
 */
export function enableRelaxedSimd(): boolean {
  if (!relaxedSimdSupported()) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return relaxedSimdSupported();
}
