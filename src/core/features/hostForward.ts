import * as tf from '@tensorflow/tfjs';
import type { Backbone, HostForward } from '../backbones/types';
import { simdSupported } from '../wasm/gemmKernels';
import { HostBackbone, type HostThreads } from '../backbones/hostBackbone';

/*
 * Whether feature rows run on the engine's own kernels (backbones/hostBackbone.ts) instead of TF.js, and on how
 * many threads: set once per engine (the CLI's workers: one thread each, as they split the images; the
 * app's worker: every core, up to 8). Only in place of TF.js's CPU backends: on WebGPU or WebGL the GPU
 * keeps it. Backbones with the same weights (every model trained on one weights file carries its own copy)
 * share one compiled forward pass, its memory and its helper threads.
 */
let threads: HostThreads | null = null;
const CPU_BACKENDS = new Set(['wasm', 'cpu']);
const pending = new WeakMap<Backbone, Promise<HostForward | null>>();

interface Shared {
  host: Promise<HostBackbone | null>;
  users: number;
}
const shared = new Map<string, Shared>();

/** Turns the host forward pass on (with these threads) or off (null). Backbones already compiled keep theirs. */
export function useHostForward(t: HostThreads | null): void {
  threads = t;
}

/** The backbone's host forward pass, compiled on first use; null where it is off or cannot run (TF.js then computes the rows). */
export function hostForward(backbone: Backbone, side: number): Promise<HostForward | null> {
  if (!threads || !CPU_BACKENDS.has(tf.getBackend())) return Promise.resolve(null);
  const current = backbone.host;
  if (current && !current.released) return Promise.resolve(current);
  if (current) {
    // Broken by a failed helper thread: the next rows get a fresh one.
    current.dispose();
    backbone.host = null;
    pending.delete(backbone);
  }
  let p = pending.get(backbone);
  if (!p) {
    p = attach(backbone, threads, side);
    pending.set(backbone, p);
  }
  return p;
}

async function attach(backbone: Backbone, t: HostThreads, side: number): Promise<HostForward | null> {
  if (!simdSupported()) return null;
  const key = `${backbone.id}:${backbone.weightsHash}`;
  for (;;) {
    let s = shared.get(key);
    if (!s) {
      s = { host: compile(backbone, t, side), users: 0 };
      shared.set(key, s);
    }
    s.users++;
    const host = await s.host;
    if (host && !host.released) {
      backbone.host = handle(key, s, host);
      return backbone.host;
    }
    s.users--;
    if (shared.get(key) === s) shared.delete(key);
    if (!host) return null;
  }
}

/** One backbone's share of a compiled host: the host itself goes once its last user is disposed. */
function handle(key: string, s: Shared, host: HostBackbone): HostForward {
  let mine = true;
  return {
    pooled: (rgb, side, taps) => host.pooled(rgb, side, taps),
    inputGradient: (images, taps, back) => host.inputGradient(images, taps, back),
    get threads() {
      return host.threads;
    },
    get bytes() {
      return host.bytes;
    },
    get released() {
      return !mine || host.released;
    },
    dispose() {
      if (!mine) return;
      mine = false;
      if (--s.users > 0) return;
      host.dispose();
      if (shared.get(key) === s) shared.delete(key);
    },
  };
}

async function compile(backbone: Backbone, t: HostThreads, side: number): Promise<HostBackbone | null> {
  try {
    return await HostBackbone.create(backbone.plan, t, side);
  } catch (e) {
    if (t.helpers === 0) {
      // A plan these kernels cannot run, or no memory for it: TF.js keeps computing this backbone's rows.
      console.warn(`feature rows stay on TF.js: ${(e as Error).message}`);
      return null;
    }
    // Helper threads that would not start (a blocked Worker, say): this thread alone.
    return compile(backbone, { ...t, helpers: 0 }, side);
  }
}
