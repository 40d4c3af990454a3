import { create } from 'zustand';
import type { Calibration } from '../../core/inspection';
import { isCancelled } from '../../worker/client';
import { engine } from '../engine';
import { looksLikeImage, type PickedFile } from '../lib/files';
import { newId } from '../lib/format';
import { deleteInspectItems, listInspectItems, putInspectItems, type JudgedBy, type StoredInspectItem } from '../persistence/inspectSession';
import { recordVerdict } from './history';
import { useModels } from './models';
import { reportError, useNotices } from './notices';

/** A row as the screen holds it: the stored row plus its object URL, and 'running' while it is scored. */
export interface InspectItem extends Omit<StoredInspectItem, 'status'> {
  url: string;
  status: StoredInspectItem['status'] | 'running';
}

export type SortKey = 'name' | 'score' | 'verdict' | 'order';
export type VerdictFilter = 'all' | 'ok' | 'defect' | 'error';

interface InspectState {
  items: InspectItem[];
  modelId: string | null;
  running: boolean;
  sort: { key: SortKey; desc: boolean };
  filter: VerdictFilter;
  search: string;
  selectedId: string | null;
  opacity: number;
  sideBySide: boolean;
  outline: boolean;
  /** Cancels the running batch; null when none runs. */
  abort: AbortController | null;
  /** Whether the batch kept in IndexedDB has been read back. */
  restored: boolean;
  add(files: PickedFile[]): void;
  /** Reads back the batch kept in IndexedDB (after a reload); rows still queued wait for `run`. */
  restore(): Promise<void>;
  run(): Promise<void>;
  /** Queues every row scored by another model (or another version or threshold) for the active one. */
  rescore(): void;
  cancel(): void;
  /** Empties the batch; `undoClear` brings it back until the next clear or reload. */
  clear(): void;
  /** The batch as it was before the last Clear, while it can still be brought back. */
  cleared: InspectItem[] | null;
  undoClear(): void;
  select(id: string | null): void;
  set(patch: Partial<Pick<InspectState, 'sort' | 'filter' | 'search' | 'opacity' | 'sideBySide' | 'outline'>>): void;
}

let saveWarned = false;
function stored(it: InspectItem): StoredInspectItem {
  const { url: _url, status, ...rest } = it;
  return { ...rest, status: status === 'running' ? 'queued' : status };
}
/** Keeps rows in IndexedDB; the batch still works without it, so a failure only warns once. */
function persist(items: InspectItem[]): void {
  if (items.length === 0) return;
  putInspectItems(items.map(stored)).catch((e: Error) => {
    if (saveWarned) return;
    saveWarned = true;
    useNotices.getState().push('warning', `This inspection batch will not survive a reload: ${e.message}`);
  });
}
function unpersist(ids: string[] | 'all'): void {
  deleteInspectItems(ids).catch((e: Error) => useNotices.getState().push('warning', `The saved inspection batch could not be cleared: ${e.message}`));
}

export const useInspect = create<InspectState>((set, get) => ({
  items: [],
  modelId: null,
  running: false,
  sort: { key: 'order', desc: false },
  filter: 'all',
  search: '',
  selectedId: null,
  opacity: 0.6,
  sideBySide: false,
  outline: true,
  abort: null,
  restored: false,
  cleared: null,

  async restore() {
    if (get().restored) return;
    try {
      const rows = await listInspectItems();
      const items: InspectItem[] = rows.map((r) => ({ ...r, url: URL.createObjectURL(r.blob) }));
      // Rows added while the database was read come after the restored ones.
      set((s) => ({ restored: true, items: [...items, ...s.items.filter((i) => !items.some((r) => r.id === i.id))], selectedId: s.selectedId ?? items.find((i) => i.status === 'done')?.id ?? null }));
    } catch (e) {
      set({ restored: true });
      reportError(e, 'The saved inspection batch could not be read');
    }
  },

  add(files) {
    const first = get().items.reduce((m, i) => Math.max(m, i.order + 1), 0);
    const items: InspectItem[] = files.map((f, k) => {
      const bad = !looksLikeImage(f.file);
      return {
        id: newId('insp'),
        order: first + k,
        name: f.path,
        blob: f.file,
        url: URL.createObjectURL(f.file),
        status: bad ? 'error' : 'queued',
        error: bad ? 'not an image file' : undefined,
      };
    });
    set((s) => ({ items: [...s.items, ...items], selectedId: s.selectedId ?? items.find((i) => i.status === 'queued')?.id ?? null }));
    persist(items);
    void get().run();
  },

  async run() {
    if (get().running) return;
    const models = useModels.getState();
    const start = models.active();
    if (!start) return;
    const abort = new AbortController();
    const signal = abort.signal;
    set({ abort, running: true, modelId: start.id });
    try {
      if (!(await models.ensureLoaded(start.id))) {
        useNotices.getState().push('error', `"${start.name}" has not been trained yet: teach it first.`);
        return;
      }
      for (;;) {
        // The record as it is now (a threshold applied meanwhile counts from the next image on); a switch
        // of the active model ends this run, and the new model scores what is still queued.
        const record = useModels.getState().records.find((r) => r.id === start.id);
        if (!record || useModels.getState().activeId !== start.id) break;
        const next = get().items.find((i) => i.status === 'queued');
        if (!next || signal.aborted) break;
        const patch = (p: Partial<InspectItem>) => {
          set((s) => ({ items: s.items.map((i) => (i.id === next.id ? { ...i, ...p } : i)) }));
          const now = get().items.find((i) => i.id === next.id);
          if (now && now.status !== 'running') persist([now]);
        };
        patch({ status: 'running' });
        try {
          const r = await engine().call('analyze', { modelId: record.id, image: next.blob, name: next.name, map: true }, { signal });
          const judgedBy: JudgedBy = { modelId: record.id, name: record.name, version: record.version, calibration: record.calibration };
          const scoredAt = Date.now();
          patch({ status: 'done', score: r.score, map: r.map, mapWidth: r.mapWidth, mapHeight: r.mapHeight, ms: r.ms, scoredAt, judgedBy });
          // Every verdict goes to the trail, a re-score too: it is a new verdict, by another model or threshold.
          void recordVerdict({ source: 'inspect', imageName: next.name, image: next.blob, model: { id: record.id, name: record.name, version: record.version }, calibration: record.calibration, rawScore: r.score, time: scoredAt });
        } catch (e) {
          if (isCancelled(e)) {
            patch({ status: 'queued' });
            break;
          }
          // One bad file must not stop the batch.
          patch({ status: 'error', error: (e as Error).message });
        }
      }
    } catch (e) {
      reportError(e, 'Inspection stopped');
    } finally {
      set({ abort: null, running: false });
    }
  },

  rescore() {
    const active = useModels.getState().active();
    if (!active) return;
    set((s) => ({
      items: s.items.map((it) =>
        it.status === 'done' && !sameJudge(it.judgedBy, active) ? { ...it, status: 'queued' as const, score: undefined, map: undefined, scoredAt: undefined, judgedBy: undefined } : it,
      ),
    }));
    persist(get().items.filter((i) => i.status === 'queued'));
    void get().run();
  },

  cancel() {
    get().abort?.abort();
  },

  clear() {
    get().abort?.abort();
    // The rows (and their object URLs) are kept in memory for Undo; the stored copy goes now, and Undo
    // writes it back, so a reload after Clear does not bring the batch back unasked.
    for (const i of get().cleared ?? []) URL.revokeObjectURL(i.url);
    const items = get().items.map((i) => (i.status === 'running' ? { ...i, status: 'queued' as const } : i));
    set({ items: [], selectedId: null, cleared: items.length ? items : null });
    unpersist('all');
  },

  undoClear() {
    const back = get().cleared;
    if (!back) return;
    // Rows added since the Clear come after the restored ones, in the order they were added.
    const first = back.reduce((m, i) => Math.max(m, i.order + 1), 0);
    const since = get().items.map((i, k) => ({ ...i, order: first + k }));
    set((s) => ({ cleared: null, items: [...back, ...since], selectedId: s.selectedId ?? back.find((i) => i.status === 'done')?.id ?? null }));
    persist([...back, ...since]);
    if (back.some((i) => i.status === 'queued')) void get().run();
  },

  select(id) {
    set({ selectedId: id });
  },

  set(patch) {
    set(patch);
  },
}));

/** Whether an item scored by `j` would get the same verdict from this model record now. */
export function sameJudge(j: JudgedBy | undefined, r: { id: string; version: number; calibration: Calibration | null }): boolean {
  return !!j && j.modelId === r.id && j.version === r.version && j.calibration?.threshold === r.calibration?.threshold;
}
