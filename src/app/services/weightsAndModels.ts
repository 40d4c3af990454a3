// What comes into the app as files, in one place: backbone weights (handed to the engine and cached in
// IndexedDB so a reload does not ask again), an official DifferNet checkpoint (its flow becomes a model) and a
// .differnet model file (its backbone weights are cached like any others). It sits above the engine and
// models stores and drives both, so neither store imports the other.
import type { BackboneId } from '../../core';
import type { WeightsInfo } from '../../worker/protocol';
import { engine } from '../engine';
import { BACKBONE_LABEL } from '../lib/format';
import { deleteWeights, listWeights, saveWeights } from '../persistence/weights';
import { useEngine } from '../stores/engine';
import { useModels } from '../stores/models';
import { reportError, useNotices } from '../stores/notices';

type WeightsSource = { kind: 'blob'; blob: Blob } | { kind: 'bytes'; bytes: ArrayBuffer };

/** Records weights the engine now holds, and keeps them for the next visit; a failure to keep them is said, and they stay in use. */
async function keepWeights(info: WeightsInfo, cache: ArrayBuffer, source: string): Promise<void> {
  useEngine.setState((s) => ({ weights: { ...s.weights, [info.id]: info } }));
  try {
    await saveWeights({ id: info.id, hash: info.hash, source, bytes: cache, savedAt: new Date().toISOString() });
  } catch (e) {
    reportError(e, 'The weights work now but will be asked for again after a reload');
  }
}

/** Hands weights to the engine; `fromUser` shows the progress and caches the features-only result (a restore from the cache does neither). */
async function loadInto(source: WeightsSource, name: string, fromUser: boolean, signal?: AbortSignal): Promise<WeightsInfo> {
  const r = await engine().call(
    'loadWeights',
    { source, name },
    {
      signal,
      transfer: source.kind === 'bytes' ? [source.bytes] : [],
      onProgress: fromUser ? (p) => useEngine.setState({ weightsJob: { name, phase: p.phase, done: p.done, total: p.total } }) : undefined,
    },
  );
  if (fromUser && r.cache) await keepWeights(r.weights, r.cache, name);
  else useEngine.setState((s) => ({ weights: { ...s.weights, [r.weights.id]: r.weights } }));
  // An official DifferNet checkpoint also carries its flow: that becomes a model to calibrate.
  // The weights are in use either way; a flow that cannot be imported is reported on its own.
  if (r.checkpoint) {
    try {
      await importCheckpoint(r.checkpoint.id, name);
    } catch (e) {
      reportError(e, `${name}: the checkpoint's flow was not imported`);
    }
  }
  return r.weights;
}

async function importCheckpoint(checkpoint: string, source: string): Promise<void> {
  const flow = await engine().call('importCheckpoint', { checkpoint });
  const name = source.split('/').pop()!.replace(/\.pth?$/i, '');
  const r = await useModels.getState().addFromFile(flow.bytes, flow.summary, `DifferNet ${name}`, `checkpoint ${source}`);
  useNotices.getState().push('info', `The checkpoint's flow was imported as model "${r.name}". Calibrate it (Teach or Evaluate) before inspecting.`);
}

/** One user load at a time: a new one cancels the last; the panel shows its progress and its error. */
async function guarded(name: string, job: (signal: AbortSignal) => Promise<WeightsInfo>): Promise<WeightsInfo | null> {
  useEngine.getState().weightsAbort?.abort();
  const ac = new AbortController();
  useEngine.setState({ weightsAbort: ac, weightsJob: { name, phase: 'read', done: 0, total: 1 }, weightsError: null });
  try {
    const info = await job(ac.signal);
    useNotices.getState().push('info', `${name}: ${BACKBONE_LABEL[info.id]} weights loaded (${(info.params / 1e6).toFixed(2)} M parameters kept).`);
    return info;
  } catch (e) {
    const msg = (e as Error).name === 'CancelledError' || (e as Error).name === 'AbortError' ? `${name}: loading cancelled` : (e as Error).message;
    useEngine.setState({ weightsError: msg });
    return null;
  } finally {
    if (useEngine.getState().weightsAbort === ac) useEngine.setState({ weightsJob: null, weightsAbort: null });
  }
}

export function loadWeightsFile(file: File): Promise<WeightsInfo | null> {
  return guarded(file.name, (signal) => loadInto({ kind: 'blob', blob: file }, file.name, true, signal));
}

export function loadWeightsUrl(url: string): Promise<WeightsInfo | null> {
  const name = decodeURIComponent(new URL(url, location.href).pathname.split('/').pop() || url);
  return guarded(name, async (signal) => {
    const bytes = await download(url, signal, (done, total) => useEngine.setState({ weightsJob: { name, phase: 'download', done, total } }));
    return loadInto({ kind: 'bytes', bytes }, url, true, signal);
  });
}

export function cancelWeights(): void {
  useEngine.getState().weightsAbort?.abort();
}

export async function forgetWeights(id: BackboneId): Promise<void> {
  await deleteWeights(id);
  useNotices.getState().push('info', 'Cached weights removed; they stay loaded until the page reloads.');
}

/** Starts the engine, then gives it the weights kept from earlier visits: the app is ready after both. */
export async function startEngine(): Promise<void> {
  if (!(await useEngine.getState().connect())) return;
  await restoreWeights();
  useEngine.setState({ status: 'ready' });
}

/** Imports a .differnet file as a model; a file that repeats a model already here waits for the user's answer. */
export async function importModelFile(file: File): Promise<void> {
  try {
    const bytes = await file.arrayBuffer();
    const r = await engine().call('importModel', { bytes }, { transfer: [bytes] });
    if (r.weights) await keepWeights(r.weights.info, r.weights.cache, r.weights.info.source);
    await useModels.getState().offerImport(r.bytes, r.summary, r.name || file.name.replace(/\.differnet$/, ''), file.name);
  } catch (e) {
    reportError(e, `${file.name} was not imported`);
  }
}

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
async function restoreWeights(): Promise<void> {
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
