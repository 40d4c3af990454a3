// Learning from a person's corrections: a verdict marked wrong files the image (a good image of the model,
// or a defect in its labelled set), records the correction in the trail, and offers to recalibrate or
// retrain; a model's versions are listed, compared on one labelled set and rolled back.
import { create } from 'zustand';
import { compareVersions, describeCalibration, formatRawScore, latestCorrections, mayHaveTrainedOn, recalibrateWithGood, untrainedGood, versionLabel, type VersionResult } from '../../core/inspection';
import { isCancelled } from '../../worker/client';
import { engine } from '../engine';
import { newId } from '../lib/format';
import { addImages, listImages, removeImages, type StoredImage } from '../persistence/images';
import { addDefect, listDefects, listVersions, readVersion, removeDefect, updateVersion, type FiledDefect, type VersionInfo } from '../persistence/learning';
import { queryVerdicts } from '../persistence/history';
import { useHistory } from './history';
import { useModels } from './models';
import { reportError, useNotices } from './notices';
import { contentHash, useTeach } from './teach';

export type MarkedFrom = 'inspect' | 'evaluate' | 'live';

/** An image whose verdict a person says is wrong. */
export interface MarkTarget {
  modelId: string;
  /** The image, or how to make it (a Live frame is cut from the camera frame only when marked). */
  blob: Blob | (() => Promise<Blob>);
  /** The image's path as inspected, or a Live frame's name: also how its verdict is found in the trail. */
  name: string;
  from: MarkedFrom;
  /** When its verdict was given (ms since 1970): finds the verdict in the trail, to record the correction. */
  verdictAt?: number;
}

export interface Comparison {
  modelId: string;
  versions: [number, number];
  good: number;
  defects: number;
  results: VersionResult[];
  /** Items that could not be scored by a version, named. */
  errors: string[];
}

export interface LearnJob {
  kind: 'recalibrate' | 'compare';
  modelId: string;
  done: number;
  total: number;
}

interface LearnState {
  /** After "This part is good": the model whose good images grew, and what was added. */
  offer: { modelId: string; name: string } | null;
  job: LearnJob | null;
  abort: AbortController | null;
  versions: Record<string, VersionInfo[]>;
  defects: Record<string, FiledDefect[]>;
  /** Good images a person marked that the current threshold does not include yet, by model. */
  pending: Record<string, StoredImage[]>;
  comparison: Comparison | null;
  /** What each image (by model and name) was marked in this session, so its buttons show it. */
  marks: Record<string, Mark>;
  /** Resolves true when the image is among the model's good images afterwards (added now or before). */
  markGood(t: MarkTarget): Promise<boolean>;
  /** Resolves true when the image is in the model's defect set afterwards. */
  markDefect(t: MarkTarget): Promise<boolean>;
  dismissOffer(): void;
  refresh(modelId: string): Promise<void>;
  recalibrate(modelId: string): Promise<void>;
  retrain(modelId: string): Promise<boolean>;
  cancel(): void;
  removeDefect(modelId: string, id: string): Promise<void>;
  compare(modelId: string, a: number, b: number): Promise<void>;
  rollBack(modelId: string, version: number): Promise<void>;
}

/** Marked-good images the given version's threshold has not seen: not trained on, not held out, not recalibrated with. */
export function pendingFor(images: readonly StoredImage[], v: Pick<VersionInfo, 'trainedOn' | 'heldOut' | 'calibratedWith' | 'createdAt'> | undefined): StoredImage[] {
  return images.filter((img) => {
    if (img.origin !== 'correction') return false;
    if (!v) return true;
    if (v.calibratedWith.includes(img.id) || v.heldOut?.includes(img.id)) return false;
    return !mayHaveTrainedOn({ trainedOn: v.trainedOn, trainedAt: Date.parse(v.createdAt) }, img);
  });
}

/** The saved verdict on `t` in the trail (written in batches: flushed first), or undefined when there is none. */
async function verdictInTrail(t: Pick<MarkTarget, 'verdictAt' | 'modelId' | 'name'>) {
  if (t.verdictAt === undefined) return undefined;
  await useHistory.getState().flush();
  const found = await queryVerdicts({ from: t.verdictAt, to: t.verdictAt, modelId: t.modelId });
  return found.find((r) => r.kind === 'verdict' && r.imageName === t.name);
}

/**
 * What a mark did to the trail: 'corrected' (the verdict said otherwise: a correction is recorded),
 * 'withdrawn' (an earlier correction is taken back: the verdict stands again), 'confirmed' (the verdict
 * already said so: nothing to record), or 'none' (no verdict found, or it could not be recorded).
 */
export type MarkRecord = 'corrected' | 'withdrawn' | 'confirmed' | 'none';

async function recordCorrection(t: Pick<MarkTarget, 'verdictAt' | 'modelId' | 'name' | 'from'>, verdict: 'OK' | 'DEFECT'): Promise<MarkRecord> {
  try {
    const original = await verdictInTrail(t);
    if (!original) return 'none';
    // What the trail says now: the verdict, or its latest correction.
    const latest = original.seq === undefined ? undefined : latestCorrections(await queryVerdicts({ from: original.time, modelId: t.modelId })).get(original.seq);
    const current = latest?.verdict ?? original.verdict;
    if (current === verdict) return 'confirmed';
    await useHistory.getState().correct(original, verdict, `marked ${verdict === 'OK' ? 'good' : 'a defect'} in ${t.from}`);
    return verdict === original.verdict ? 'withdrawn' : 'corrected';
  } catch (e) {
    reportError(e, 'The correction could not be recorded in the history');
    return 'none';
  }
}

/** How a mark's effect on the trail reads at the end of its message. */
function trailNote(r: MarkRecord, verdict: 'OK' | 'DEFECT'): string {
  if (r === 'corrected') return '; the correction is in History';
  if (r === 'withdrawn') return `; the earlier correction is withdrawn in History (the ${verdict} verdict stands)`;
  if (r === 'confirmed') return `; the ${verdict} verdict stands (a confirmation, nothing to correct)`;
  return '';
}

/** The good image and filed defect of the model with the same bytes, if any (by content hash). */
async function filedAs(modelId: string, hash: string | null): Promise<{ good?: StoredImage; defect?: FiledDefect }> {
  if (!hash) return {};
  const [images, defects] = await Promise.all([listImages(modelId), listDefects(modelId)]);
  const hashes = await Promise.all(images.map((img) => contentHash(img.blob)));
  return { good: images.find((_, i) => hashes[i] === hash), defect: defects.find((d) => d.hash === hash) };
}

/** Where a part stands for a model: a person marks it good or a defect, never both. */
export type Mark = 'good' | 'defect';

export const markKey = (modelId: string, name: string) => `${modelId}:${name}`;

function modelName(id: string): string {
  return useModels.getState().records.find((r) => r.id === id)?.name ?? 'the model';
}

export const useLearn = create<LearnState>((set, get) => ({
  offer: null,
  job: null,
  abort: null,
  versions: {},
  defects: {},
  pending: {},
  comparison: null,
  marks: {},

  async markGood(target) {
    const notices = useNotices.getState();
    try {
      const t = { ...target, blob: typeof target.blob === 'function' ? await target.blob() : target.blob };
      const model = modelName(t.modelId);
      const { good, defect } = await filedAs(t.modelId, await contentHash(t.blob));
      if (good) {
        // The same mark again: nothing new to store or record.
        set((s) => ({ marks: { ...s.marks, [markKey(t.modelId, t.name)]: 'good' } }));
        notices.push('info', `${t.name} is already marked good for "${model}"${good.name === t.name ? '' : ` (as ${good.name})`}: nothing new recorded.`);
        return true;
      }
      const stored: StoredImage = { id: newId('img'), modelId: t.modelId, name: t.name, blob: t.blob, addedAt: Date.now(), origin: 'correction' };
      // Stored first: a full disk says so here and the verdict stays uncorrected, so nothing half-done remains.
      await addImages([stored]);
      if (defect) await removeDefect(defect.id);
      const teach = useTeach.getState();
      if (teach.modelId === t.modelId) useTeach.setState({ images: [...teach.images, { id: stored.id, name: stored.name, blob: stored.blob, url: URL.createObjectURL(stored.blob), addedAt: stored.addedAt, origin: 'correction' }] });
      const recorded = await recordCorrection(t, 'OK');
      set((s) => ({ offer: { modelId: t.modelId, name: t.name }, marks: { ...s.marks, [markKey(t.modelId, t.name)]: 'good' } }));
      await get().refresh(t.modelId);
      const moved = defect ? ` and taken out of its defect set${defect.name === t.name ? '' : ` (filed as ${defect.name})`}` : '';
      const trail = trailNote(recorded, 'OK');
      notices.push('info', `${t.name} was added to the good images of "${model}"${moved}${trail}.`);
      return true;
    } catch (e) {
      reportError(e, `${target.name} could not be marked good`);
      return false;
    }
  },

  async markDefect(target) {
    const notices = useNotices.getState();
    try {
      const t = { ...target, blob: typeof target.blob === 'function' ? await target.blob() : target.blob };
      const model = modelName(t.modelId);
      const hash = await contentHash(t.blob);
      const { good, defect } = await filedAs(t.modelId, hash);
      if (defect) {
        set((s) => ({ marks: { ...s.marks, [markKey(t.modelId, t.name)]: 'defect' } }));
        notices.push('info', `${t.name} is already filed as a defect of "${model}"${defect.name === t.name ? '' : ` (as ${defect.name})`}: nothing new recorded.`);
        return true;
      }
      await addDefect({ id: newId('defect'), modelId: t.modelId, name: t.name, blob: t.blob, addedAt: Date.now(), hash, from: t.from });
      let moved = '';
      if (good) {
        await removeImages([good.id]);
        const teach = useTeach.getState();
        if (teach.modelId === t.modelId) useTeach.setState({ images: teach.images.filter((i) => i.id !== good.id) });
        // Read, not taken from the store: Live and Evaluate do not load the versions list.
        const current = useModels.getState().records.find((r) => r.id === t.modelId)?.version;
        const version = (await listVersions(t.modelId)).find((v) => v.version === current);
        const inThreshold = version?.calibratedWith.includes(good.id) || version?.heldOut?.includes(good.id) || version?.trainedOn?.includes(good.id);
        moved = ` and taken out of its good images${good.name === t.name ? '' : ` (${good.name})`}${inThreshold ? '; the current version still includes it: retrain to leave it out' : ''}`;
      }
      const recorded = await recordCorrection(t, 'DEFECT');
      set((s) => ({ marks: { ...s.marks, [markKey(t.modelId, t.name)]: 'defect' } }));
      await get().refresh(t.modelId);
      const trail = trailNote(recorded, 'DEFECT');
      notices.push('info', `${t.name} was filed as a defect of "${model}"${moved} (Versions: compare versions on it, or use it in Evaluate)${trail}.`);
      return true;
    } catch (e) {
      reportError(e, `${target.name} could not be filed as a defect`);
      return false;
    }
  },

  dismissOffer() {
    set({ offer: null });
  },

  async refresh(modelId) {
    try {
      const [versions, defects, images] = await Promise.all([listVersions(modelId), listDefects(modelId), listImages(modelId)]);
      const record = useModels.getState().records.find((r) => r.id === modelId);
      const current = versions.find((v) => v.version === record?.version);
      set((s) => ({ versions: { ...s.versions, [modelId]: versions }, defects: { ...s.defects, [modelId]: defects }, pending: { ...s.pending, [modelId]: pendingFor(images, current) } }));
    } catch (e) {
      reportError(e, 'The versions and filed images could not be read');
    }
  },

  async recalibrate(modelId) {
    const models = useModels.getState();
    const record = models.records.find((r) => r.id === modelId);
    if (!record?.calibration || get().job) return;
    const before = record.calibration;
    const images = get().pending[modelId] ?? [];
    if (images.length === 0) {
      useNotices.getState().push('info', `No good images marked since "${record.name}" v${record.version} was calibrated.`);
      return;
    }
    const abort = new AbortController();
    set({ abort, job: { kind: 'recalibrate', modelId, done: 0, total: images.length } });
    try {
      if (!(await models.ensureLoaded(modelId))) throw new Error(`"${record.name}" has not been trained yet`);
      const scores: number[] = [];
      for (const img of images) {
        const r = await engine().call('analyze', { modelId, image: img.blob, map: false }, { signal: abort.signal });
        scores.push(r.score);
        set((s) => ({ job: s.job && { ...s.job, done: scores.length } }));
      }
      const next = recalibrateWithGood(before, scores);
      // The model may have changed meanwhile (a roll-back, a training): its new threshold would be from another flow.
      const now = useModels.getState().records.find((r) => r.id === modelId);
      if (!now || now.version !== record.version) throw new Error('the model changed version while its new threshold was computed; nothing was changed');
      await models.setCalibration(modelId, next);
      const version = (get().versions[modelId] ?? []).find((v) => v.version === record.version);
      const calibratedWith = [...(version?.calibratedWith ?? []), ...images.map((i) => i.id)];
      const base = (version?.change ?? 'trained').replace(/; recalibrated with .*$/, '');
      await updateVersion(modelId, record.version, {
        calibratedWith,
        change: `${base}; recalibrated with ${calibratedWith.length} image${calibratedWith.length === 1 ? '' : 's'} marked good`,
      });
      await get().refresh(modelId);
      useNotices.getState().push(
        'info',
        `"${record.name}" v${record.version} recalibrated with ${images.length} image${images.length === 1 ? '' : 's'} marked good, now ${versionLabel(record.version, next.revision)}: raw threshold ${formatRawScore(before.threshold)} → ${formatRawScore(next.threshold)}; ${describeCalibration(next)}.`,
      );
    } catch (e) {
      if (isCancelled(e)) useNotices.getState().push('info', 'Recalibration cancelled; the threshold is unchanged.');
      else reportError(e, 'The model could not be recalibrated (its threshold is unchanged)');
    } finally {
      set({ job: null, abort: null });
    }
  },

  async retrain(modelId) {
    // Teach's training path, on the model's good images with the new ones: progress, cancel and a new version.
    useModels.getState().setActive(modelId);
    await useTeach.getState().load(modelId);
    const ok = await useTeach.getState().train();
    await get().refresh(modelId);
    if (ok) set({ offer: null });
    return ok;
  },

  cancel() {
    get().abort?.abort();
    if (useTeach.getState().job) useTeach.getState().cancel();
  },

  async removeDefect(modelId, id) {
    try {
      await removeDefect(id);
      await get().refresh(modelId);
    } catch (e) {
      reportError(e, 'The filed defect could not be removed');
    }
  },

  async compare(modelId, a, b) {
    const models = useModels.getState();
    const record = models.records.find((r) => r.id === modelId);
    if (!record || get().job) return;
    const abort = new AbortController();
    const temp: string[] = [];
    try {
      const [versions, images, defects] = await Promise.all([listVersions(modelId), listImages(modelId), listDefects(modelId)]);
      const picked = [a, b].map((n) => versions.find((v) => v.version === n));
      if (picked.some((v) => !v)) throw new Error('pick two saved versions');
      const good = untrainedGood(images, picked.map((v) => ({ trainedOn: v!.trainedOn, trainedAt: Date.parse(v!.createdAt) })));
      if (defects.length === 0) throw new Error(`"${record.name}" has no filed defects yet: mark a defect ("This is a defect") in Inspect, Evaluate or Live first`);
      if (good.length === 0) throw new Error(`no good image of "${record.name}" is unseen by both versions: mark good parts ("This part is good") or add good images in Teach, then compare`);
      const items = [...good.map((g) => ({ blob: g.blob, name: g.name, label: 0 as const })), ...defects.map((d) => ({ blob: d.blob, name: d.name, label: 1 as const }))];
      set({ abort, comparison: null, job: { kind: 'compare', modelId, done: 0, total: items.length * 2 } });
      const errors: string[] = [];
      const scored = [];
      for (const v of picked as VersionInfo[]) {
        // The current version is already in the engine; another is loaded beside it under its own id.
        let id = modelId;
        if (v.version !== record.version || !(await models.ensureLoaded(modelId))) {
          const file = await readVersion(modelId, v.version);
          if (!file) throw new Error(`version ${v.version} is not saved`);
          id = `${modelId}#v${v.version}`;
          temp.push(id);
          await engine().call('loadModel', { modelId: id, bytes: file.file, calibration: file.calibration }, { transfer: [file.file] });
        }
        const scores: number[] = [];
        for (const it of items) {
          try {
            scores.push((await engine().call('analyze', { modelId: id, image: it.blob, map: false }, { signal: abort.signal })).score);
          } catch (e) {
            if (isCancelled(e)) throw e;
            scores.push(Number.NaN);
            errors.push(`v${v.version}: ${it.name}: ${(e as Error).message}`);
          }
          set((s) => ({ job: s.job && { ...s.job, done: s.job.done + 1 } }));
        }
        scored.push({ version: v.version, scores, threshold: v.calibration?.threshold ?? null });
      }
      const results = compareVersions(
        items.map((i) => i.label),
        scored,
      );
      set({ comparison: { modelId, versions: [a, b], good: good.length, defects: defects.length, results, errors } });
    } catch (e) {
      if (!isCancelled(e)) reportError(e, 'The versions could not be compared');
    } finally {
      for (const id of temp) await engine().call('unloadModel', { modelId: id }).catch(() => undefined);
      set({ job: null, abort: null });
    }
  },

  async rollBack(modelId, version) {
    const record = useModels.getState().records.find((r) => r.id === modelId);
    if (!record) return;
    try {
      await useModels.getState().rollBack(modelId, version);
      await get().refresh(modelId);
      useNotices.getState().push('info', `"${record.name}" is back on v${version}; v${record.version} and every other version stay saved.`);
    } catch (e) {
      reportError(e, `"${record.name}" could not be rolled back (v${record.version} is still current)`);
    }
  },
}));
