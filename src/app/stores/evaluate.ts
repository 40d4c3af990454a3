import { create } from 'zustand';
import type { RocPoint } from '../../worker/protocol';
import { isCancelled } from '../../worker/client';
import { engine } from '../engine';
import { looksLikeImage, type PickedFile } from '../lib/files';
import { newId } from '../lib/format';
import { parseMvtec } from '../lib/mvtec';
import { useModels } from './models';
import { reportError, useNotices } from './notices';

export interface EvalItem {
  id: string;
  name: string;
  blob: Blob;
  label: 0 | 1;
  category: string;
  mask?: Blob;
  score?: number;
  error?: string;
}

export interface EvalMetrics {
  auroc: number | null;
  roc: RocPoint[];
  pixelAuroc: number | null;
  f1Threshold: number | null;
}

interface EvaluateState {
  items: EvalItem[];
  running: boolean;
  progress: { done: number; total: number; etaSeconds?: number } | null;
  metrics: EvalMetrics | null;
  modelId: string | null;
  /** The slider's threshold; null follows the model's calibration. */
  threshold: number | null;
  addFolder(files: PickedFile[]): void;
  addTagged(files: PickedFile[], label: 0 | 1): void;
  setLabel(id: string, label: 0 | 1): Promise<void>;
  remove(id: string): void;
  clear(): void;
  run(): Promise<void>;
  cancel(): void;
  setThreshold(t: number | null): void;
  adopt(kind: 'slider' | 'f1'): Promise<void>;
}

let abort: AbortController | null = null;

export const useEvaluate = create<EvaluateState>((set, get) => {
  const append = (items: EvalItem[]) => set((s) => ({ items: [...s.items, ...items], metrics: null }));

  async function refreshMetrics(): Promise<void> {
    const scored = get().items.filter((i) => i.score !== undefined && Number.isFinite(i.score));
    if (scored.length === 0) return;
    const m = await engine().call('metrics', { scores: scored.map((i) => i.score!), labels: scored.map((i) => i.label) });
    set((s) => ({ metrics: { ...m, pixelAuroc: s.metrics?.pixelAuroc ?? null } }));
  }

  return {
    items: [],
    running: false,
    progress: null,
    metrics: null,
    modelId: null,
    threshold: null,

    addFolder(files) {
      const { items, ignored } = parseMvtec(files);
      if (items.length === 0) {
        useNotices.getState().push('warning', `No test images found in the MVTec layout (test/good/…, test/<defect>/…). Use the good/defective drop zones for loose images.${ignored ? ` ${ignored} files ignored.` : ''}`);
        return;
      }
      append(items.map((it) => ({ id: newId('ev'), name: it.path, blob: it.file, label: it.label, category: it.category, mask: it.mask })));
      const masks = items.filter((i) => i.mask).length;
      useNotices.getState().push('info', `${items.length} labelled images added (${items.filter((i) => i.label === 0).length} good, ${items.filter((i) => i.label === 1).length} defective, ${masks} with masks).`);
    },

    addTagged(files, label) {
      const images = files.filter((f) => looksLikeImage(f.file));
      if (images.length < files.length) useNotices.getState().push('warning', `${files.length - images.length} non-image files ignored.`);
      append(images.map((f) => ({ id: newId('ev'), name: f.path, blob: f.file, label, category: label === 0 ? 'good' : 'defect' })));
    },

    async setLabel(id, label) {
      set((s) => ({ items: s.items.map((i) => (i.id === id ? { ...i, label, category: label === 0 ? 'good' : i.category === 'good' ? 'defect' : i.category } : i)) }));
      await refreshMetrics().catch((e) => reportError(e));
    },

    remove(id) {
      set((s) => ({ items: s.items.filter((i) => i.id !== id) }));
      void refreshMetrics().catch((e) => reportError(e));
    },

    clear() {
      abort?.abort();
      set({ items: [], metrics: null, threshold: null, progress: null });
    },

    async run() {
      const models = useModels.getState();
      const record = models.active();
      if (!record || get().running) return;
      const items = get().items;
      if (items.length === 0) return;
      abort = new AbortController();
      set({ running: true, progress: { done: 0, total: items.length }, modelId: record.id, items: items.map((i) => ({ ...i, score: undefined, error: undefined })) });
      try {
        if (!(await models.ensureLoaded(record.id))) throw new Error(`"${record.name}" has not been trained yet`);
        const r = await engine().call(
          'evaluate',
          {
            modelId: record.id,
            items: items.map((i) => ({ image: i.blob, name: i.name, label: i.label, mask: i.mask })),
            maps: true,
            calibrate: record.calibration ? undefined : { kind: 'f1-max' },
          },
          {
            signal: abort.signal,
            onProgress: (p) =>
              set((s) => ({
                progress: { done: p.done, total: p.total, etaSeconds: p.etaSeconds },
                items: s.items.map((it, k) => (k === p.done - 1 && p.itemScore !== undefined ? { ...it, score: p.itemScore } : it)),
              })),
          },
        );
        set((s) => ({
          items: s.items.map((it, k) => ({ ...it, score: r.scores[k], error: r.errors[k] ?? undefined })),
          metrics: { auroc: r.auroc, roc: r.roc, pixelAuroc: r.pixelAuroc, f1Threshold: r.f1Threshold },
          threshold: null,
        }));
        if (r.calibration) {
          await models.setCalibration(record.id, r.calibration);
          useNotices.getState().push('info', `"${record.name}" had no threshold; it is now calibrated on this labelled set (best F1).`);
        }
      } catch (e) {
        if (!isCancelled(e)) reportError(e, 'Evaluation failed');
      } finally {
        abort = null;
        set({ running: false, progress: null });
      }
    },

    cancel() {
      abort?.abort();
    },

    setThreshold(t) {
      set({ threshold: t });
    },

    async adopt(kind) {
      const models = useModels.getState();
      const record = models.active();
      const cal = record?.calibration;
      if (!record || !cal) return;
      const t = kind === 'f1' ? get().metrics?.f1Threshold : get().threshold;
      if (t === null || t === undefined) return;
      await models.setCalibration(record.id, { ...cal, threshold: t, method: kind === 'f1' ? { kind: 'f1-max' } : { kind: 'manual', threshold: t } });
      set({ threshold: null });
      useNotices.getState().push('info', `Threshold of "${record.name}" set to ${t.toFixed(3)}.`);
    },
  };
});
