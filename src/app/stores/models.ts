import { create } from 'zustand';
import type { BackboneId, Calibration } from '../../core';
// The settings module is free of TF.js, so the UI bundle does not pull TF.js in for this.
import { DEFAULT_SETTINGS, forBackbone } from '../../core/model/settings';
import type { ModelSummary } from '../../worker/protocol';
import { engine } from '../engine';
import { downloadBlob, safeFileName } from '../lib/download';
import { newId } from '../lib/format';
import { nextVersion } from '../../core/inspection';
import { forgetModel, listVersions, readVersion, saveVersion, updateVersion, type ModelVersion } from '../persistence/learning';
import { deleteModelRecord, listModels, readModelFile, saveModelRecord, type ModelRecord } from '../persistence/models';
import { reportError, useNotices } from './notices';

const ACTIVE_KEY = 'differnet.activeModel';

interface ModelsState {
  records: ModelRecord[];
  activeId: string | null;
  /** Ids whose file the worker holds. */
  loaded: Record<string, true>;
  ready: boolean;
  init(): Promise<void>;
  active(): ModelRecord | null;
  setActive(id: string | null): void;
  create(name: string, backbone: BackboneId): Promise<ModelRecord>;
  update(id: string, patch: Partial<Pick<ModelRecord, 'name' | 'settings' | 'backbone'>>): Promise<void>;
  remove(id: string): Promise<void>;
  /** Makes sure the worker holds the model's file; resolves false when it has none (never trained). */
  ensureLoaded(id: string): Promise<boolean>;
  /** Saves a training's result as the model's next version (kept beside the earlier ones) and makes it current. */
  saveTrained(id: string, bytes: ArrayBuffer, summary: ModelSummary, learned?: TrainedFrom): Promise<number>;
  setCalibration(id: string, calibration: Calibration): Promise<void>;
  /** Makes a saved version current again; later versions stay saved. */
  rollBack(id: string, version: number): Promise<void>;
  exportModel(id: string): Promise<void>;
  /** Adds a model file the engine has read (an import, a checkpoint's flow) as a new model, made active; the engine holds it. */
  addFromFile(bytes: ArrayBuffer, summary: ModelSummary, name: string, origin: string): Promise<ModelRecord>;
  /**
   * Adds an imported model file (services/weightsAndModels.ts reads it), unless it is a model already here:
   * then it waits for the user to import it as a copy or not (`duplicate`).
   */
  offerImport(bytes: ArrayBuffer, summary: ModelSummary, name: string, fileName: string): Promise<void>;
  /** An import that matches a model already here: waits for the user to import it as a copy or cancel. */
  duplicate: { fileName: string; existing: string; finish: (asCopy: boolean) => Promise<void> } | null;
}

/** What a new version was trained from: a sentence for the versions list, and which good images went where. */
export interface TrainedFrom {
  change: string;
  trainedOn: string[];
  heldOut: string[];
}

function versionOf(r: ModelRecord, file: ArrayBuffer, from: Pick<ModelVersion, 'change' | 'trainedOn' | 'heldOut' | 'createdAt'>): ModelVersion {
  return {
    modelId: r.id,
    version: r.version,
    backbone: r.backbone,
    settings: r.settings,
    calibration: r.calibration,
    training: r.training,
    weightsHash: r.weightsHash,
    fileBytes: r.fileBytes,
    calibratedWith: [],
    file,
    ...from,
  };
}

/**
 * Keeps the current version of a model trained before versions were kept, so that a new one never leaves
 * it without a way back. Its image lists are unknown.
 */
async function keepLegacyVersion(r: ModelRecord, saved: number[]): Promise<void> {
  if (r.version === 0 || saved.includes(r.version)) return;
  const file = await readModelFile(r.id);
  if (!file) return;
  await saveVersion(versionOf(r, file, { change: 'trained before versions were kept', trainedOn: null, heldOut: null, createdAt: r.training?.finishedAt ?? r.updatedAt }));
}

/** What identifies a trained model: the same backbone weights, settings and training run (not its name or threshold). */
export function modelFingerprint(m: { backbone: string; weightsHash: string | null; training: ModelSummary['training'] }): string | null {
  if (!m.training || !m.weightsHash) return null;
  // The training record (images, timings, every loss) is unique to one run and travels in the file as JSON.
  return JSON.stringify([m.backbone, m.weightsHash, m.training]);
}

function byDate(a: ModelRecord, b: ModelRecord): number {
  return b.updatedAt.localeCompare(a.updatedAt);
}

export function uniqueName(records: ModelRecord[], base: string): string {
  const names = new Set(records.map((r) => r.name));
  if (!names.has(base)) return base;
  for (let i = 2; ; i++) if (!names.has(`${base} (${i})`)) return `${base} (${i})`;
}

export const useModels = create<ModelsState>((set, get) => {
  /** Drops the engine's copy after a failed save, so that what runs is what is stored (the next use reloads it). */
  async function unloadQuietly(id: string): Promise<void> {
    await engine().call('unloadModel', { modelId: id }).catch(() => undefined);
    set((s) => {
      const loaded = { ...s.loaded };
      delete loaded[id];
      return { loaded };
    });
  }

  function replace(record: ModelRecord): void {
    set((s) => ({ records: [record, ...s.records.filter((r) => r.id !== record.id)].sort(byDate) }));
  }

  return {
    records: [],
    activeId: null,
    loaded: {},
    ready: false,
    duplicate: null,

    async init() {
      try {
        const records = (await listModels()).sort(byDate);
        const saved = localStorage.getItem(ACTIVE_KEY);
        set({ records, activeId: records.find((r) => r.id === saved)?.id ?? records[0]?.id ?? null, ready: true });
      } catch (e) {
        set({ ready: true });
        reportError(e, 'Saved models could not be read');
      }
    },

    active() {
      const { records, activeId } = get();
      return records.find((r) => r.id === activeId) ?? null;
    },

    setActive(id) {
      if (id) localStorage.setItem(ACTIVE_KEY, id);
      else localStorage.removeItem(ACTIVE_KEY);
      set({ activeId: id });
    },

    async create(name, backbone) {
      const now = new Date().toISOString();
      const record: ModelRecord = {
        id: newId('model'),
        name: uniqueName(get().records, name.trim() || 'Model'),
        backbone,
        // Each backbone trains on its own default features (GoogLeNet: inception_3b-4e at 224 px, one scale).
        settings: forBackbone(structuredClone(DEFAULT_SETTINGS), backbone),
        createdAt: now,
        updatedAt: now,
        version: 0,
        calibration: null,
          training: null,
        weightsHash: null,
        fileBytes: 0,
      };
      await saveModelRecord(record);
      replace(record);
      get().setActive(record.id);
      return record;
    },

    async update(id, patch) {
      const r = get().records.find((x) => x.id === id);
      if (!r) return;
      // Another backbone brings its own features: one network's taps mean nothing to another.
      const settings = patch.settings ? structuredClone(patch.settings) : patch.backbone && patch.backbone !== r.backbone ? forBackbone(r.settings, patch.backbone) : r.settings;
      const next: ModelRecord = { ...r, ...patch, settings, updatedAt: new Date().toISOString() };
      // Controlled inputs (checkboxes, number fields) show the store's value: it must change in the
      // same tick as the click, not after the IndexedDB write, or the browser reverts the input.
      replace(next);
      try {
        await saveModelRecord(next);
      } catch (e) {
        if (get().records.find((x) => x.id === id) === next) replace(r);
        throw e;
      }
    },

    async remove(id) {
      await deleteModelRecord(id);
      // The model is gone either way; versions left behind only take space.
      await forgetModel(id).catch((e: Error) => reportError(e, 'The deleted model\'s older versions could not be removed'));
      await engine().call('unloadModel', { modelId: id });
      set((s) => {
        const loaded = { ...s.loaded };
        delete loaded[id];
        return { records: s.records.filter((r) => r.id !== id), loaded };
      });
      if (get().activeId === id) get().setActive(get().records[0]?.id ?? null);
    },

    async ensureLoaded(id) {
      if (get().loaded[id]) return true;
      const r = get().records.find((x) => x.id === id);
      if (!r || r.version === 0) return false;
      const bytes = await readModelFile(id);
      if (!bytes) throw new Error(`the file of model "${r.name}" is missing from the browser's storage; train or import it again`);
      await engine().call('loadModel', { modelId: id, bytes, calibration: r.calibration }, { transfer: [bytes] });
      set((s) => ({ loaded: { ...s.loaded, [id]: true } }));
      return true;
    },

    async saveTrained(id, bytes, summary, learned) {
      const r = get().records.find((x) => x.id === id);
      if (!r) throw new Error('the model was deleted during training');
      let version: number;
      try {
        const saved = (await listVersions(id)).map((v) => v.version);
        await keepLegacyVersion(r, saved);
        version = nextVersion(r.latestVersion ?? r.version, saved);
      } catch (e) {
        await unloadQuietly(id);
        throw e;
      }
      const next: ModelRecord = {
        ...r,
        backbone: summary.backbone,
        settings: summary.settings,
        version,
        latestVersion: version,
        calibration: summary.calibration,
        training: summary.training,
        weightsHash: summary.weightsHash,
        fileBytes: summary.fileBytes,
        updatedAt: new Date().toISOString(),
      };
      try {
        // The version first: if the disk is full there, the current model stays as it was.
        await saveVersion(
          versionOf(next, bytes.slice(0), {
            change: learned?.change ?? 'trained',
            trainedOn: learned?.trainedOn ?? null,
            heldOut: learned?.heldOut ?? null,
            createdAt: summary.training?.finishedAt ?? next.updatedAt,
          }),
        );
        await saveModelRecord(next, bytes);
      } catch (e) {
        // The worker already holds the new version; put the stored one back so what runs is what is saved.
        await unloadQuietly(id);
        throw e;
      }
      replace(next);
      set((s) => ({ loaded: { ...s.loaded, [id]: true } }));
      return version;
    },

    async setCalibration(id, calibration) {
      const r = get().records.find((x) => x.id === id);
      if (!r) return;
      const next = { ...r, calibration, updatedAt: new Date().toISOString() };
      await saveModelRecord(next);
      if (get().loaded[id]) await engine().call('setCalibration', { modelId: id, calibration });
      replace(next);
      // The version keeps its threshold as it is now, for comparisons and a later roll-back to it.
      await updateVersion(id, r.version, { calibration }).catch((e: Error) => reportError(e, `The new threshold is in use, but version ${r.version}'s saved copy still has the old one`));
    },

    async rollBack(id, version) {
      const r = get().records.find((x) => x.id === id);
      if (!r) return;
      const v = await readVersion(id, version);
      if (!v) throw new Error(`version ${version} of "${r.name}" is not saved in this browser`);
      const next: ModelRecord = {
        ...r,
        backbone: v.backbone,
        settings: v.settings,
        version: v.version,
        latestVersion: Math.max(r.latestVersion ?? r.version, r.version, v.version),
        calibration: v.calibration,
        training: v.training,
        weightsHash: v.weightsHash,
        fileBytes: v.fileBytes,
        updatedAt: new Date().toISOString(),
      };
      // Record and file in one transaction: a refusal leaves the current version exactly as it was.
      await saveModelRecord(next, v.file.slice(0));
      replace(next);
      try {
        await engine().call('loadModel', { modelId: id, bytes: v.file, calibration: v.calibration }, { transfer: [v.file] });
        set((s) => ({ loaded: { ...s.loaded, [id]: true } }));
      } catch (e) {
        // The engine may still hold the other version: the next use loads the stored (rolled-back) file.
        set((s) => {
          const loaded = { ...s.loaded };
          delete loaded[id];
          return { loaded };
        });
        throw e;
      }
    },

    async exportModel(id) {
      const r = get().records.find((x) => x.id === id);
      if (!r) return;
      if (!(await get().ensureLoaded(id))) throw new Error(`"${r.name}" has not been trained yet`);
      // With the backbone inside, the file alone is enough to inspect on another machine.
      const bytes = await engine().call('exportModel', { modelId: id, name: r.name, includeBackbone: true });
      downloadBlob(new Blob([bytes], { type: 'application/zip' }), `${safeFileName(r.name)}.differnet`);
    },

    async addFromFile(bytes, summary, name, origin) {
      const now = new Date().toISOString();
      const record: ModelRecord = {
        id: newId('model'),
        name: uniqueName(get().records, name),
        backbone: summary.backbone,
        settings: summary.settings,
        createdAt: now,
        updatedAt: now,
        version: 1,
        calibration: summary.calibration,
        training: summary.training,
        weightsHash: summary.weightsHash,
        fileBytes: summary.fileBytes,
        origin,
      };
      await saveModelRecord(record, bytes.slice(0));
      try {
        await saveVersion(versionOf(record, bytes.slice(0), { change: `imported from ${origin}`, trainedOn: null, heldOut: null, createdAt: now }));
      } catch (e) {
        reportError(e, `"${record.name}" was imported, but its first version could not be kept for roll-backs`);
      }
      await engine().call('loadModel', { modelId: record.id, bytes, calibration: record.calibration }, { transfer: [bytes] });
      replace(record);
      set((s) => ({ loaded: { ...s.loaded, [record.id]: true } }));
      get().setActive(record.id);
      return record;
    },

    async offerImport(bytes, summary, name, fileName) {
      const add = async () => {
        const rec = await get().addFromFile(bytes, summary, name, `file ${fileName}`);
        useNotices.getState().push('info', `Imported model "${rec.name}".`);
      };
      const print = modelFingerprint(summary);
      const same = print ? get().records.find((x) => modelFingerprint(x) === print) : undefined;
      if (!same) return add();
      // The same model is already here: say so, and import a copy only if asked.
      await new Promise<void>((resolve) => {
        set({
          duplicate: {
            fileName,
            existing: same.name,
            finish: async (asCopy) => {
              set({ duplicate: null });
              try {
                if (asCopy) await add();
                else useNotices.getState().push('info', `${fileName} was not imported: it is the model "${same.name}" already here.`);
              } catch (e) {
                reportError(e, `${fileName} was not imported`);
              }
              resolve();
            },
          },
        });
      });
    },
  };
});
