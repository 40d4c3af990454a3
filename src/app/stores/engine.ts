import { create } from 'zustand';
import type { BackboneId, ModelSettings } from '../../core';
import type { BackendChoice, BackendInfo, ProgressEvent, WeightsInfo } from '../../worker/protocol';
import { engine, wasmPaths } from '../engine';
import { softwareWebGl, softwareWebGlWarning } from '../lib/backend';
import { BACKBONE_LABEL } from '../lib/format';
import { deleteWeights, listWeights, saveWeights } from '../persistence/weights';
// models.ts imports this store too; each uses the other only inside actions, never while modules load.
import { useModels } from './models';
import { reportError, useNotices } from './notices';

const CHOICE_KEY = 'differnet.backend';

export interface WeightsJob {
  name: string;
  phase: 'download' | ProgressEvent['phase'];
  done: number;
  total: number;
}

interface EngineState {
  status: 'starting' | 'ready' | 'failed';
  startError: string | null;
  backend: BackendInfo | null;
  switching: boolean;
  palette: Uint8Array | null;
  presets: { default: ModelSettings; paper: ModelSettings } | null;
  weights: Partial<Record<BackboneId, WeightsInfo>>;
  weightsJob: WeightsJob | null;
  weightsError: string | null;
  /** Cancels the weights being loaded; null when none are. */
  weightsAbort: AbortController | null;
  start(): Promise<void>;
  setChoice(choice: BackendChoice): Promise<void>;
  loadWeightsFile(file: File): Promise<WeightsInfo | null>;
  loadWeightsUrl(url: string): Promise<WeightsInfo | null>;
  cancelWeights(): void;
  forgetWeights(id: BackboneId): Promise<void>;
}

function savedChoice(): BackendChoice {
  const v = localStorage.getItem(CHOICE_KEY);
  return v === 'webgpu' || v === 'wasm' || v === 'webgl' || v === 'cpu' ? v : 'auto';
}

export const useEngine = create<EngineState>((set, get) => {
  /** Hands bytes or a file to the worker; caches the features-only result in IndexedDB. */
  async function loadInto(source: { kind: 'blob'; blob: Blob } | { kind: 'bytes'; bytes: ArrayBuffer }, name: string, cache: boolean, signal?: AbortSignal): Promise<WeightsInfo> {
    const r = await engine().call(
      'loadWeights',
      { source, name },
      {
        signal,
        transfer: source.kind === 'bytes' ? [source.bytes] : [],
        // Restoring cached weights at start-up is quick and silent; a user's file shows its progress.
        onProgress: cache ? (p) => set({ weightsJob: { name, phase: p.phase, done: p.done, total: p.total } }) : undefined,
      },
    );
    set((s) => ({ weights: { ...s.weights, [r.weights.id]: r.weights } }));
    if (cache && r.cache) {
      try {
        await saveWeights({ id: r.weights.id, hash: r.weights.hash, source: name, bytes: r.cache, savedAt: new Date().toISOString() });
      } catch (e) {
        reportError(e, 'The weights work now but will be asked for again after a reload');
      }
    }
    // An official DifferNet checkpoint also carries its flow: that becomes a model to calibrate.
    // The weights are in use either way; a flow that cannot be imported is reported on its own.
    if (r.checkpoint) {
      try {
        await useModels.getState().importCheckpoint(r.checkpoint.id, name);
      } catch (e) {
        reportError(e, `${name}: the checkpoint's flow was not imported`);
      }
    }
    return r.weights;
  }

  async function guarded(name: string, job: (signal: AbortSignal) => Promise<WeightsInfo>): Promise<WeightsInfo | null> {
    get().weightsAbort?.abort();
    const ac = new AbortController();
    set({ weightsAbort: ac, weightsJob: { name, phase: 'read', done: 0, total: 1 }, weightsError: null });
    try {
      const info = await job(ac.signal);
      useNotices.getState().push('info', `${name}: ${BACKBONE_LABEL[info.id]} weights loaded (${(info.params / 1e6).toFixed(2)} M parameters kept).`);
      return info;
    } catch (e) {
      const msg = (e as Error).name === 'CancelledError' || (e as Error).name === 'AbortError' ? `${name}: loading cancelled` : (e as Error).message;
      set({ weightsError: msg });
      return null;
    } finally {
      if (get().weightsAbort === ac) set({ weightsJob: null, weightsAbort: null });
    }
  }

  return {
    status: 'starting',
    startError: null,
    backend: null,
    switching: false,
    palette: null,
    presets: null,
    weights: {},
    weightsJob: null,
    weightsError: null,
    weightsAbort: null,

    async start() {
      const client = engine();
      client.onEvent((e) => {
        if (e.event === 'backendChanged') {
          set({ backend: e.backend });
          useNotices.getState().push('warning', e.message);
        } else {
          useNotices.getState().push(e.level === 'warn' ? 'warning' : 'info', e.message);
        }
      });
      try {
        const r = await client.call('init', { wasmPaths: wasmPaths(), choice: savedChoice() });
        set({ backend: r.backend, palette: r.palette, presets: r.presets });
      } catch (e) {
        if (savedChoice() !== 'auto') {
          // A remembered choice that no longer works (e.g. no GPU today) must not lock the app out.
          localStorage.removeItem(CHOICE_KEY);
          useNotices.getState().push('warning', `${(e as Error).message}; using automatic choice instead.`);
          return get().start();
        }
        set({ status: 'failed', startError: (e as Error).message });
        return;
      }
      await restoreWeights(loadInto);
      set({ status: 'ready' });
    },

    async setChoice(choice) {
      set({ switching: true });
      try {
        const info = await engine().call('setBackend', { choice });
        localStorage.setItem(CHOICE_KEY, choice);
        set({ backend: info });
      } catch (e) {
        reportError(e, `Cannot switch to ${choice}`);
        // The worker may be between backends; ask for automatic choice so it is usable again.
        try {
          set({ backend: await engine().call('setBackend', { choice: 'auto' }) });
          localStorage.removeItem(CHOICE_KEY);
        } catch (e2) {
          reportError(e2);
        }
      } finally {
        set({ switching: false });
      }
    },

    loadWeightsFile(file) {
      return guarded(file.name, (signal) => loadInto({ kind: 'blob', blob: file }, file.name, true, signal));
    },

    loadWeightsUrl(url) {
      const name = decodeURIComponent(new URL(url, location.href).pathname.split('/').pop() || url);
      return guarded(name, async (signal) => {
        const bytes = await download(url, signal, (done, total) => set({ weightsJob: { name, phase: 'download', done, total } }));
        return loadInto({ kind: 'bytes', bytes }, url, true, signal);
      });
    },

    cancelWeights() {
      get().weightsAbort?.abort();
    },

    async forgetWeights(id) {
      await deleteWeights(id);
      useNotices.getState().push('info', 'Cached weights removed; they stay loaded until the page reloads.');
    },
  };
});

async function download(url: string, signal: AbortSignal, onProgress: (done: number, total: number) => void): Promise<ArrayBuffer> {
  let res: Response;
  try {
    res = await fetch(url, { signal, credentials: 'omit', referrerPolicy: 'no-referrer' });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new Error(
      `${url} could not be fetched (${(e as Error).message}). The server may be unreachable (offline?), may not allow downloads from web pages (CORS), or be outside what this app may contact (this page, https://download.pytorch.org and http://dl.caffe.berkeleyvision.org). Download the file yourself and drop it here instead.`,
      { cause: e },
    );
  }
  if (!res.ok) throw new Error(`${url}: the server answered ${res.status} ${res.statusText}`);
  const total = Number(res.headers.get('content-length')) || 0;
  if (!res.body) return res.arrayBuffer();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let done = 0;
  for (;;) {
    const { value, done: end } = await reader.read();
    if (end) break;
    chunks.push(value);
    done += value.length;
    onProgress(done, total || done);
  }
  const out = new Uint8Array(done);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out.buffer;
}

/** Cached weights first (IndexedDB), then whatever `npm start` prepared in models/. */
async function restoreWeights(loadInto: (source: { kind: 'bytes'; bytes: ArrayBuffer }, name: string, cache: boolean) => Promise<WeightsInfo>): Promise<void> {
  const have = new Set<BackboneId>();
  try {
    for (const w of await listWeights()) {
      try {
        await loadInto({ kind: 'bytes', bytes: w.bytes }, w.source, false);
        have.add(w.id);
      } catch (e) {
        reportError(e, `The cached ${w.id} weights are unusable and were removed`);
        await deleteWeights(w.id).catch(() => undefined);
      }
    }
  } catch (e) {
    reportError(e, 'Cached weights could not be read');
  }
  let index: { weights?: { id: BackboneId; file: string; source?: string }[] } | null = null;
  try {
    const res = await fetch('models/index.json', { cache: 'no-cache' });
    if (res.ok) index = await res.json();
  } catch {
    // No prepared weights: the user provides them.
  }
  for (const w of index?.weights ?? []) {
    if (have.has(w.id)) continue;
    try {
      const res = await fetch(`models/${w.file}`);
      if (!res.ok) throw new Error(`models/${w.file}: ${res.status}`);
      await loadInto({ kind: 'bytes', bytes: await res.arrayBuffer() }, w.source ?? `models/${w.file}`, false);
    } catch (e) {
      reportError(e, `Prepared weights models/${w.file} could not be loaded`);
    }
  }
}

// Whatever put it there (start-up measurement, the user's choice, a fallback), WebGL on a software
// renderer is said once each time it becomes the backend: it was once chosen silently, 83 s for 3 images.
useEngine.subscribe((s, prev) => {
  if (s.backend !== prev.backend && softwareWebGl(s.backend) && !softwareWebGl(prev.backend)) useNotices.getState().push('warning', softwareWebGlWarning(s.backend!.adapter));
});
