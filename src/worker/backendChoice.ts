// Startup backend choice. A software WebGPU adapter (SwiftShader) is ~100x slower than WASM for these
// convolutions, so WebGPU only wins with a real GPU; otherwise WASM and WebGL race on a small probe.
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { useBackend, type BackendName, type BackendOptions } from '../core/backend';
import type { BackendMeasurement, GpuAdapterInfo } from './protocol';

export async function probeWebGpu(): Promise<GpuAdapterInfo | null> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return null;
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch {
    return null;
  }
  if (!adapter) return null;
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const description = info?.description || info?.device || '';
  const fallback = info?.isFallbackAdapter === true || (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const text = `${vendor} ${architecture} ${description}`.toLowerCase();
  const software = fallback || text.includes('swiftshader') || text.includes('llvmpipe') || text.includes('software') || (vendor === 'google' && architecture === '');
  return { vendor, architecture, description, software };
}

export function gpuLabel(info: GpuAdapterInfo): string {
  const name = [info.vendor, info.description || info.architecture].filter(Boolean).join(' ').trim() || 'unnamed adapter';
  return info.software ? `${name} (software)` : name;
}

/** A miniature of the backbone's work: two convolutions and a pooling, as in SqueezeNet's first layers. */
function probeWorkload(): tf.Tensor {
  return tf.tidy(() => {
    const x = tf.randomUniform([1, 160, 160, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w1 = tf.randomNormal([3, 3, 3, 64], 0, 0.1, 'float32', 2) as tf.Tensor4D;
    const w2 = tf.randomNormal([3, 3, 64, 64], 0, 0.05, 'float32', 3) as tf.Tensor4D;
    const h = tf.relu(tf.conv2d(x, w1, 2, 'valid'));
    const p = tf.maxPool(h, 3, 2, 'valid');
    return tf.mean(tf.relu(tf.conv2d(p, w2, 1, 'same')), [1, 2]);
  });
}

async function timeOnce(): Promise<number> {
  const t0 = performance.now();
  const y = probeWorkload();
  await y.data();
  y.dispose();
  return performance.now() - t0;
}

const MEASURE_TIMEOUT_MS = 8000;

/** Starts `name` and times the probe (after a warm-up that pays for shader compilation). */
export async function measure(name: BackendName, opts: BackendOptions): Promise<BackendMeasurement> {
  const run = async (): Promise<BackendMeasurement> => {
    await useBackend(name, opts);
    await timeOnce();
    const ms = Math.min(await timeOnce(), await timeOnce());
    return { backend: name, ms, note: `${ms.toFixed(1)} ms per probe` };
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<BackendMeasurement>((resolve) => {
    timer = setTimeout(() => resolve({ backend: name, ms: null, note: `slower than ${MEASURE_TIMEOUT_MS / 1000} s` }), MEASURE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([run(), timeout]);
  } catch (e) {
    return { backend: name, ms: null, note: (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `kernelThreads`: the threads of the engine's own WebAssembly kernels, which do the heavy work where they run
 * (TF.js's pool then has one thread: execution/tfjsThreads.ts); absent, TF.js's pool is what computes.
 */
export function adapterLabel(name: BackendName, gpu: GpuAdapterInfo | null, kernelThreads?: number): string {
  switch (name) {
    case 'wasm': {
      const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD';
      let threads = kernelThreads ?? 1;
      if (kernelThreads === undefined) {
        try {
          threads = getThreadsCount();
        } catch {
          // Not started yet: report the single-thread default.
        }
      }
      return `WASM ${simd}, ${threads} thread${threads === 1 ? '' : 's'}`;
    }
    case 'webgpu':
      return gpu ? gpuLabel(gpu) : 'WebGPU';
    case 'webgl': {
      const gl = tf.backend() as unknown as { gpgpu?: { gl?: WebGLRenderingContext } };
      const ctx = gl.gpgpu?.gl;
      const dbg = ctx?.getExtension('WEBGL_debug_renderer_info');
      const renderer = ctx && dbg ? String(ctx.getParameter(dbg.UNMASKED_RENDERER_WEBGL)) : 'WebGL';
      return renderer;
    }
    case 'cpu':
      return 'plain JavaScript';
  }
}

/** The GPUDevice of the running WebGPU backend, to watch for loss. */
export function webgpuDevice(): GPUDevice | null {
  return (tf.backend() as unknown as { device?: GPUDevice }).device ?? null;
}

/**
 * Drops a backend whose device is gone from TF.js's registry, keeping its factory: TF.js would otherwise
 * hand the dead instance back on the next `setBackend`, and every computation on it would fail.
 */
export function forgetBackend(name: BackendName): void {
  const factory = tf.findBackendFactory(name);
  if (!factory) return;
  try {
    tf.removeBackend(name);
  } catch {
    // Disposing a backend whose device is lost can throw; it is dropped all the same.
  }
  // The priority TF.js's own packages register it with; it only matters for TF.js's automatic choice, unused here.
  tf.registerBackend(name, factory, name === 'webgpu' ? 3 : 1);
}
