import { create } from 'zustand';
import { bestF1Threshold, DEFAULT_FALSE_ALARM_RATE, describeCalibration, evaluationReport, recalibrate, type Calibration, type EvaluationReport, type LabelledScore } from '../../core/inspection';
import { isCancelled } from '../../worker/client';
import { engine } from '../engine';
import { looksLikeImage, type PickedFile } from '../lib/files';
import { newId } from '../lib/format';
import { parseMvtec } from '../lib/mvtec';
import { clearEvalSession, loadEvalSession, saveEvalSession } from '../persistence/evaluateSession';
import { useModels } from './models';
import { reportError, useNotices } from './notices';

export interface EvalItem {
  id: string;
  name: string;
  blob: Blob;
  /** Object URL of the image, for thumbnails; revoked when the item goes. */
  url: string;
  label: 0 | 1;
  category: string;
  mask?: Blob;
  maskUrl?: string;
  score?: number;
  error?: string;
}

export interface EvalMetrics {
  /** Needs the defect maps, so it is the worker's number; the image-level report is the core's over the worker's scores. */
  pixelAuroc: number | null;
}

function labelledScores(items: EvalItem[]): LabelledScore[] {
  return items.filter((i) => i.score !== undefined).map((i) => ({ score: i.score!, label: i.label, defect: i.category }));
}

/**
 * The core's report over the worker's scores at `threshold`. The worker returns scores, not a report: the
 * labels and the threshold change here (relabelling, the slider) without another run.
 */
export function reportOf(items: EvalItem[], threshold: number | null): EvaluationReport {
  return evaluationReport(labelledScores(items), threshold);
}

/** The threshold with the best F1 on the scored items, or null without both classes. */
export function bestF1(items: EvalItem[]): number | null {
  return bestF1Threshold(labelledScores(items));
}

export type EvalSortKey = 'order' | 'name' | 'label' | 'score';

/** A defect map fetched for the detail view, or why it could not be. */
export type EvalMap = { map: Float32Array; width: number; height: number } | { error: string };

interface EvaluateState {
  items: EvalItem[];
  sort: { key: EvalSortKey; desc: boolean };
  /** The item open in the detail view. */
  detailId: string | null;
  /** Defect maps by `mapKey(item, model)`: fetched once per item and model version. */
  maps: Record<string, EvalMap | 'loading'>;
  setSort(sort: { key: EvalSortKey; desc: boolean }): void;
  openDetail(id: string | null): void;
  /** Fetches the item's defect map from the active model (once; later calls reuse it). */
  loadMap(id: string): Promise<void>;
  running: boolean;
  progress: { done: number; total: number; etaSeconds?: number } | null;
  metrics: EvalMetrics | null;
  modelId: string | null;
  /** The slider's threshold; null follows the model's calibration. */
  threshold: number | null;
  /** Cancels the running evaluation; null when none runs. */
  abort: AbortController | null;
  addFolder(files: PickedFile[]): void;
  addTagged(files: PickedFile[], label: 0 | 1): void;
  setLabel(id: string, label: 0 | 1): Promise<void>;
  remove(id: string): void;
  clear(): void;
  run(): Promise<void>;
  cancel(): void;
  setThreshold(t: number | null): void;
  adopt(kind: 'slider' | 'f1'): Promise<void>;
  /** Puts back the false-alarm-rate threshold from held-out images after a threshold set here. */
  restoreCalibrated(): Promise<void>;
  /** The model version that scored the items (the exports name it). */
  scoredBy: { id: string; version: number; revision?: number } | null;
  /** Reads back the evaluation kept in IndexedDB (after a reload). */
  restore(): Promise<void>;
}

/** The calibration a threshold set in Evaluate replaced, by model id: what "back to the calibrated threshold" restores. */
const replaced = new Map<string, Calibration>();

/**
 * The held-out calibration to go back to, for a model whose threshold was set on a labelled set (best F1
 * or by hand): the one it replaced in this session, else the default rate on the held-out scores it
 * still carries. Null when there is nothing to go back to.
 */
export function calibratedAlternative(cal: Calibration | null, modelId: string): Calibration | null {
  if (!cal || (cal.method.kind !== 'manual' && cal.method.kind !== 'f1-max')) return null;
  const before = replaced.get(modelId);
  if (before) return before;
  if (cal.source !== 'held-out' || cal.goodScores.length === 0) return null;
  return recalibrate(cal, { kind: 'false-alarm-rate', rate: DEFAULT_FALSE_ALARM_RATE });
}

/** The cache key of an item's defect map: a retrained or recalibrated model draws it anew. */
export function mapKey(itemId: string, model: { id: string; version: number }): string {
  return `${model.id}@${model.version}:${itemId}`;
}

function revoke(items: EvalItem[]): void {
  for (const i of items) {
    URL.revokeObjectURL(i.url);
    if (i.maskUrl) URL.revokeObjectURL(i.maskUrl);
  }
}

const withUrls = (it: Omit<EvalItem, 'url' | 'maskUrl'>): EvalItem => ({ ...it, url: URL.createObjectURL(it.blob), maskUrl: it.mask ? URL.createObjectURL(it.mask) : undefined });

let saveWarned = false;

export const useEvaluate = create<EvaluateState>((set, get) => {
  /** Keeps the evaluation for the next visit; a failure to save is said once and changes nothing on screen. */
  const save = () => {
    const { items, metrics, scoredBy, running } = get();
    if (running) return;
    const stored = items.map(({ url: _url, maskUrl: _maskUrl, ...rest }) => rest);
    const done = items.length === 0 ? clearEvalSession() : saveEvalSession({ items: stored, pixelAuroc: metrics?.pixelAuroc ?? null, scored: !!metrics, model: scoredBy, savedAt: Date.now() });
    done.catch((e: unknown) => {
      if (saveWarned) return;
      saveWarned = true;
      reportError(e, 'The evaluation could not be kept for the next visit (it is still here until you reload)');
    });
  };
  const append = (items: EvalItem[]) => {
    set((s) => ({ items: [...s.items, ...items], metrics: null }));
    save();
  };

  return {
    items: [],
    sort: { key: 'order', desc: false },
    detailId: null,
    maps: {},
    running: false,
    progress: null,
    metrics: null,
    modelId: null,
    threshold: null,
    abort: null,
    scoredBy: null,

    async restore() {
      if (get().items.length > 0) return;
      let kept: Awaited<ReturnType<typeof loadEvalSession>>;
      try {
        kept = await loadEvalSession();
      } catch {
        // Nothing kept or no storage: a fresh Evaluate screen.
        return;
      }
      if (!kept || kept.items.length === 0 || get().items.length > 0) return;
      set({
        items: kept.items.map(withUrls),
        metrics: kept.scored ? { pixelAuroc: kept.pixelAuroc } : null,
        scoredBy: kept.model,
        modelId: kept.model?.id ?? null,
      });
    },

    addFolder(files) {
      const { items, ignored } = parseMvtec(files);
      if (items.length === 0) {
        useNotices.getState().push('warning', `No test images found in the MVTec layout (test/good/…, test/<defect>/…). Use the good/defective drop zones for loose images.${ignored ? ` ${ignored} files ignored.` : ''}`);
        return;
      }
      append(items.map((it) => withUrls({ id: newId('ev'), name: it.path, blob: it.file, label: it.label, category: it.category, mask: it.mask })));
      const masks = items.filter((i) => i.mask).length;
      useNotices.getState().push('info', `${items.length} labelled images added (${items.filter((i) => i.label === 0).length} good, ${items.filter((i) => i.label === 1).length} defective, ${masks} with masks).`);
    },

    addTagged(files, label) {
      const images = files.filter((f) => looksLikeImage(f.file));
      if (images.length < files.length) useNotices.getState().push('warning', `${files.length - images.length} non-image files ignored.`);
      append(images.map((f) => withUrls({ id: newId('ev'), name: f.path, blob: f.file, label, category: label === 0 ? 'good' : 'defect' })));
    },

    async setLabel(id, label) {
      set((s) => ({ items: s.items.map((i) => (i.id === id ? { ...i, label, category: label === 0 ? 'good' : i.category === 'good' ? 'defect' : i.category } : i)) }));
      save();
    },

    remove(id) {
      revoke(get().items.filter((i) => i.id === id));
      set((s) => ({ items: s.items.filter((i) => i.id !== id), detailId: s.detailId === id ? null : s.detailId }));
      save();
    },

    clear() {
      get().abort?.abort();
      revoke(get().items);
      set({ items: [], metrics: null, threshold: null, progress: null, detailId: null, maps: {}, scoredBy: null });
      save();
    },

    setSort(sort) {
      set({ sort });
    },

    openDetail(id) {
      set({ detailId: id });
      if (id) void get().loadMap(id);
    },

    async loadMap(id) {
      const record = useModels.getState().active();
      const item = get().items.find((i) => i.id === id);
      if (!record || !item || record.version === 0) return;
      const key = mapKey(id, record);
      if (get().maps[key]) return;
      set((s) => ({ maps: { ...s.maps, [key]: 'loading' } }));
      let entry: EvalMap;
      try {
        if (!(await useModels.getState().ensureLoaded(record.id))) throw new Error(`"${record.name}" has not been trained yet`);
        const r = await engine().call('analyze', { modelId: record.id, image: item.blob, name: item.name, map: true });
        entry = r.map ? { map: r.map, width: r.mapWidth, height: r.mapHeight } : { error: 'the engine returned no defect map' };
      } catch (e) {
        entry = { error: (e as Error).message };
      }
      set((s) => ({ maps: { ...s.maps, [key]: entry } }));
    },

    async run() {
      const models = useModels.getState();
      const record = models.active();
      if (!record || get().running) return;
      const items = get().items;
      if (items.length === 0) return;
      const abort = new AbortController();
      set({ abort, running: true, progress: { done: 0, total: items.length }, modelId: record.id, items: items.map((i) => ({ ...i, score: undefined, error: undefined })) });
      try {
        if (!(await models.ensureLoaded(record.id))) throw new Error(`"${record.name}" has not been trained yet`);
        const r = await engine().call(
          'evaluate',
          {
            modelId: record.id,
            items: items.map((i) => ({ image: i.blob, name: i.name, label: i.label, defect: i.category, mask: i.mask })),
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
          metrics: { pixelAuroc: r.pixelAuroc },
          threshold: null,
          scoredBy: { id: record.id, version: record.version, revision: record.calibration?.revision },
        }));
        if (r.calibration) {
          await models.setCalibration(record.id, r.calibration);
          useNotices.getState().push('info', `"${record.name}" had no threshold; it is now calibrated on this labelled set (best F1).`);
        }
      } catch (e) {
        if (!isCancelled(e)) reportError(e, 'Evaluation failed');
      } finally {
        set({ abort: null, running: false, progress: null });
        save();
      }
    },

    cancel() {
      get().abort?.abort();
    },

    setThreshold(t) {
      set({ threshold: t });
    },

    async adopt(kind) {
      const models = useModels.getState();
      const record = models.active();
      const cal = record?.calibration;
      if (!record || !cal) return;
      const t = kind === 'f1' ? bestF1(get().items) : get().threshold;
      if (t === null || t === undefined) return;
      if (cal.method.kind === 'false-alarm-rate') replaced.set(record.id, cal);
      await models.setCalibration(record.id, recalibrate(cal, { kind: 'manual', threshold: t }));
      set({ threshold: null });
      const at = reportOf(get().items, t).atThreshold;
      const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '—' : `${(x * 100).toFixed(1)} %`);
      useNotices.getState().push('info', `Threshold of "${record.name}" set ${kind === 'f1' ? 'to the best-F1 cut' : 'by hand'}: ${pct(at?.falseAlarmRate)} false alarms and ${pct(at?.recall)} of defects found on this set.`);
    },

    async restoreCalibrated() {
      const models = useModels.getState();
      const record = models.active();
      const back = record ? calibratedAlternative(record.calibration, record.id) : null;
      if (!record || !back) return;
      await models.setCalibration(record.id, back);
      replaced.delete(record.id);
      set({ threshold: null });
      useNotices.getState().push('info', `"${record.name}" is back on its calibrated threshold: ${describeCalibration(back)}.`);
    },
  };
});
