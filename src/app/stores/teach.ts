import { create } from 'zustand';
import { DEFAULT_FALSE_ALARM_RATE, holdoutSplit, recalibrate, type Calibration, type ThresholdMethod } from '../../core/inspection';
import type { TrainPhase } from '../../worker/protocol';
import { isCancelled } from '../../worker/client';
import { engine } from '../engine';
import { looksLikeImage, type PickedFile } from '../lib/files';
import { BACKBONE_LABEL, newId } from '../lib/format';
import { addImages, listImages, removeImages, type StoredImage } from '../persistence/images';
import { listVersions } from '../persistence/learning';
import { trainingChange } from '../lib/versions';
import { useEngine } from './engine';
import { useModels } from './models';
import { reportError, useNotices } from './notices';

export interface TeachImage {
  id: string;
  name: string;
  blob: Blob;
  url: string;
  addedAt: number;
  origin?: StoredImage['origin'];
}

export interface TrainJob {
  modelId: string;
  phase: TrainPhase;
  done: number;
  total: number;
  etaSeconds?: number;
  losses: { step: number; loss: number }[];
}

/** Below this many good images the flow sees too little variation; warn, do not refuse. */
export const RECOMMENDED_IMAGES = 20;

interface TeachState {
  modelId: string | null;
  images: TeachImage[];
  rejected: string[];
  adding: boolean;
  job: TrainJob | null;
  /** Cancels the running training; null when none runs. */
  trainAbort: AbortController | null;
  load(modelId: string | null): Promise<void>;
  addFiles(files: PickedFile[]): Promise<void>;
  addBlobs(items: { blob: Blob; name: string }[]): Promise<void>;
  remove(id: string): Promise<void>;
  clear(): Promise<void>;
  /** `falseAlarmRate` overrides the model's (e.g. a stricter one for camera frames). */
  train(falseAlarmRate?: number): Promise<boolean>;
  cancel(): void;
  applyMethod(method: ThresholdMethod): Promise<void>;
}

/**
 * The false-alarm rate a training calibrates for: `override` if given (e.g. a stricter one for camera
 * frames), else the rate the model was last calibrated with, else the default. A threshold set another way
 * (best F1, by hand) does not carry over to a retrained flow, whose scores differ.
 */
export function trainingFalseAlarmRate(calibration: Calibration | null, override?: number): number {
  const m = calibration?.method;
  return override ?? (m?.kind === 'false-alarm-rate' ? m.rate : DEFAULT_FALSE_ALARM_RATE);
}

const hashes = new WeakMap<Blob, Promise<string | null>>();
/** SHA-256 of a file's bytes (null where the browser has no crypto.subtle, e.g. plain http off localhost). */
export function contentHash(blob: Blob): Promise<string | null> {
  let h = hashes.get(blob);
  if (!h) {
    h = (async () => {
      if (!globalThis.crypto?.subtle) return null;
      const d = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
      return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
    })().catch(() => null);
    hashes.set(blob, h);
  }
  return h;
}

/** Checks that the browser can decode it, without keeping the pixels. */
async function validate(file: Blob, name: string): Promise<string | null> {
  if (file.size === 0) return `${name}: the file is empty`;
  try {
    const bmp = await createImageBitmap(file);
    const ok = bmp.width > 0 && bmp.height > 0;
    bmp.close();
    return ok ? null : `${name}: the image has no pixels`;
  } catch {
    return `${name}: not a readable image (${file.type || 'unknown type'}) — it may be truncated or in an unsupported format`;
  }
}

export const useTeach = create<TeachState>((set, get) => ({
  modelId: null,
  images: [],
  rejected: [],
  adding: false,
  job: null,
  trainAbort: null,

  async load(modelId) {
    if (get().modelId === modelId) return;
    for (const img of get().images) URL.revokeObjectURL(img.url);
    set({ modelId, images: [], rejected: [] });
    if (!modelId) return;
    try {
      const stored = await listImages(modelId);
      if (get().modelId !== modelId) return;
      set({ images: stored.map((s) => ({ id: s.id, name: s.name, blob: s.blob, url: URL.createObjectURL(s.blob), addedAt: s.addedAt, origin: s.origin })) });
    } catch (e) {
      reportError(e, 'The saved training images could not be read');
    }
  },

  async addFiles(files) {
    const rejected: string[] = [];
    const ok: { blob: Blob; name: string }[] = [];
    set({ adding: true });
    try {
      for (const f of files) {
        if (!looksLikeImage(f.file)) {
          rejected.push(`${f.path}: not an image file`);
          continue;
        }
        const problem = await validate(f.file, f.path);
        if (problem) rejected.push(problem);
        else ok.push({ blob: f.file, name: f.path });
      }
      set({ rejected });
      await get().addBlobs(ok);
    } finally {
      set({ adding: false });
    }
  },

  async addBlobs(incoming) {
    const modelId = get().modelId;
    if (!modelId || incoming.length === 0) return;
    // The same picture twice (a file dropped again, a copy under another name) only weighs it double: skipped by content.
    const seen = new Map<string, string>();
    for (const img of get().images) {
      const h = await contentHash(img.blob);
      if (h) seen.set(h, img.name);
    }
    const items: typeof incoming = [];
    const dupes: string[] = [];
    for (const it of incoming) {
      const h = await contentHash(it.blob);
      if (h && seen.has(h)) {
        dupes.push(seen.get(h) === it.name ? it.name : `${it.name} (same as ${seen.get(h)})`);
        continue;
      }
      if (h) seen.set(h, it.name);
      items.push(it);
    }
    if (dupes.length > 0) {
      useNotices.getState().push('info', `${dupes.length} duplicate image${dupes.length === 1 ? '' : 's'} skipped (same content as one already added): ${dupes.slice(0, 5).join(', ')}${dupes.length > 5 ? ', …' : ''}.`);
    }
    if (items.length === 0) return;
    const now = Date.now();
    const stored: StoredImage[] = items.map((it, i) => ({ id: newId('img'), modelId, name: it.name, blob: it.blob, addedAt: now + i }));
    try {
      await addImages(stored);
    } catch (e) {
      reportError(e);
      return;
    }
    if (get().modelId !== modelId) return;
    set((s) => ({ images: [...s.images, ...stored.map((x) => ({ id: x.id, name: x.name, blob: x.blob, url: URL.createObjectURL(x.blob), addedAt: x.addedAt }))] }));
  },

  async remove(id) {
    await removeImages([id]);
    set((s) => {
      const gone = s.images.find((i) => i.id === id);
      if (gone) URL.revokeObjectURL(gone.url);
      return { images: s.images.filter((i) => i.id !== id) };
    });
  },

  async clear() {
    const ids = get().images.map((i) => i.id);
    await removeImages(ids);
    for (const img of get().images) URL.revokeObjectURL(img.url);
    set({ images: [], rejected: [] });
  },

  async train(override) {
    const models = useModels.getState();
    const record = models.active();
    if (!record || get().job) return false;
    if (!useEngine.getState().weights[record.backbone]) {
      useNotices.getState().push('error', `Load the ${BACKBONE_LABEL[record.backbone]} weights before training.`);
      return false;
    }
    const images = get().images;
    if (images.length === 0) {
      useNotices.getState().push('error', 'Add some images of good parts first.');
      return false;
    }
    const trainAbort = new AbortController();
    const falseAlarmRate = trainingFalseAlarmRate(record.calibration, override);
    set({ trainAbort, job: { modelId: record.id, phase: 'features', done: 0, total: images.length, losses: [] } });
    try {
      const r = await engine().call(
        'train',
        { modelId: record.id, backbone: record.backbone, settings: record.settings, images: images.map((i) => i.blob), names: images.map((i) => i.name), falseAlarmRate },
        {
          signal: trainAbort.signal,
          onProgress: (p) =>
            set((s) => {
              if (!s.job) return s;
              const losses = p.phase === 'flow' && p.loss !== undefined ? [...s.job.losses, { step: p.done, loss: p.loss }] : s.job.losses;
              return { job: { ...s.job, phase: p.phase as TrainPhase, done: p.done, total: p.total, etaSeconds: p.etaSeconds, losses } };
            }),
        },
      );
      // The worker holds the images out by the same seeded split over the same list: which went where is known here too.
      const split = holdoutSplit(images.length, record.settings.train.seed);
      const previous = record.version > 0 ? (await listVersions(record.id).catch(() => [])).find((v) => v.version === record.version) : undefined;
      await models.saveTrained(record.id, r.bytes, r.summary, {
        change: trainingChange(images, previous, record.version),
        trainedOn: split.train.map((i) => images[i].id),
        heldOut: split.heldOut.map((i) => images[i].id),
      });
      const t = r.summary.training;
      useNotices.getState().push('info', `"${record.name}" trained on ${t?.images ?? images.length} images; ${t?.heldOut ?? 0} more were held out to set the threshold.`);
      return true;
    } catch (e) {
      if (isCancelled(e)) useNotices.getState().push('info', 'Training cancelled; the previous version of the model is unchanged.');
      else reportError(e, 'Training failed (the previous version of the model is unchanged)');
      return false;
    } finally {
      set({ job: null, trainAbort: null });
    }
  },

  cancel() {
    get().trainAbort?.abort();
  },

  async applyMethod(method) {
    const record = useModels.getState().active();
    if (!record?.calibration) return;
    try {
      await useModels.getState().setCalibration(record.id, recalibrate(record.calibration, method));
    } catch (e) {
      reportError(e, 'The threshold could not be set');
    }
  },
}));
