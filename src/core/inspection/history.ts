// The trail of verdicts: what one record holds, how a later correction refers to it, how the trail is
// searched and exported. Pure data and text; the app keeps the records (append-only) in IndexedDB.
import type { Calibration } from './calibration';
import { sixDigits, splitPath, toCsv } from './csv';
import { DISPLAY_THRESHOLD, judge } from './verdict';

export type HistoryVerdict = 'OK' | 'DEFECT' | 'UNCALIBRATED';
export type HistorySource = 'inspect' | 'live';

/** The model that gave a verdict, as it was then (a later retraining or threshold does not change it). */
export interface HistoryModel {
  id: string;
  name: string;
  version: number;
  /** The threshold's recalibration count (Calibration.revision): "v1.1"; absent for the training's own. */
  revision?: number;
  /** SHA-256 of the model file (the flow's weights), or null where the browser cannot hash. */
  hash: string | null;
}

/**
 * One line of the trail. A correction is a record of its own that names the one it corrects
 * (`correctionOf`), so nothing already written ever changes.
 */
export interface VerdictRecord {
  /** Given by the store when the record is saved: increasing, never reused. */
  seq?: number;
  kind: 'verdict' | 'correction';
  /** Milliseconds since 1970 (UTC): sortable and indexable; exports write ISO 8601. */
  time: number;
  source: HistorySource;
  station: string;
  operator: string;
  /** The image's path as dropped ("folder/name.png"; a bare name for loose files or camera frames). */
  imageName: string;
  /** SHA-256 of the image file's bytes, or null where the browser cannot hash (plain http). */
  imageHash: string | null;
  model: HistoryModel;
  /** Raw DifferNet score (mean of z²) and the raw threshold it was judged against. */
  rawScore: number;
  rawThreshold: number | null;
  /** The 0-1 score people see (threshold at 0.5); null without a threshold. */
  score: number | null;
  verdict: HistoryVerdict;
  /** For a correction: the `seq` of the record it corrects. */
  correctionOf: number | null;
  note?: string;
}

export interface VerdictInput {
  time: number;
  source: HistorySource;
  station: string;
  operator: string;
  imageName: string;
  imageHash: string | null;
  model: HistoryModel;
  rawScore: number;
  calibration: Pick<Calibration, 'threshold' | 'good'> | null;
}

/** A verdict as the app gave it: the same rule (and the same 0-1 score) as the screens show. */
export function verdictRecord(v: VerdictInput): VerdictRecord {
  const j = v.calibration ? judge(v.rawScore, v.calibration) : null;
  return {
    kind: 'verdict',
    time: v.time,
    source: v.source,
    station: v.station,
    operator: v.operator,
    imageName: v.imageName,
    imageHash: v.imageHash,
    model: { ...v.model },
    rawScore: v.rawScore,
    rawThreshold: v.calibration?.threshold ?? null,
    score: j ? j.display : null,
    verdict: !j ? 'UNCALIBRATED' : j.verdict === 'defect' ? 'DEFECT' : 'OK',
    correctionOf: null,
  };
}

/** A person's correction of `original` (which must be saved, so it has a seq): a new record, the original untouched. */
export function correctionRecord(original: VerdictRecord, verdict: 'OK' | 'DEFECT', by: { time: number; station: string; operator: string; note?: string }): VerdictRecord {
  if (original.seq === undefined) throw new Error('only a saved verdict can be corrected');
  if (original.kind !== 'verdict') throw new Error('a correction is corrected by correcting the original verdict again');
  // No seq: the store gives the correction its own (an own property holding undefined is not a valid key).
  const { seq, ...rest } = original;
  return {
    ...rest,
    kind: 'correction',
    time: by.time,
    station: by.station,
    operator: by.operator,
    verdict,
    correctionOf: seq,
    note: by.note?.trim() || undefined,
  };
}

/** The latest correction of each corrected verdict, by the original's seq. */
export function latestCorrections(records: readonly VerdictRecord[]): Map<number, VerdictRecord> {
  const out = new Map<number, VerdictRecord>();
  for (const r of records) {
    if (r.kind !== 'correction' || r.correctionOf === null) continue;
    const had = out.get(r.correctionOf);
    // Later time wins; at the same millisecond, the later-saved record.
    if (!had || r.time > had.time || (r.time === had.time && (r.seq ?? 0) > (had.seq ?? 0))) out.set(r.correctionOf, r);
  }
  return out;
}

export type HistoryVerdictFilter = 'all' | HistoryVerdict | 'corrections';

export interface HistoryQuery {
  /** Inclusive bounds in ms since 1970; undefined: open. */
  from?: number;
  to?: number;
  /** A model id; undefined or '': every model. */
  modelId?: string;
  verdict?: HistoryVerdictFilter;
}

export function matchesQuery(r: VerdictRecord, q: HistoryQuery): boolean {
  if (q.from !== undefined && r.time < q.from) return false;
  if (q.to !== undefined && r.time > q.to) return false;
  if (q.modelId && r.model.id !== q.modelId) return false;
  const v = q.verdict ?? 'all';
  if (v === 'corrections') return r.kind === 'correction';
  return v === 'all' || r.verdict === v;
}

/** Newest first, as the trail is read; the seq orders records saved in the same millisecond. */
export function newestFirst(a: VerdictRecord, b: VerdictRecord): number {
  return b.time - a.time || (b.seq ?? 0) - (a.seq ?? 0);
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * The bounds of the days picked in date fields ("YYYY-MM-DD", as `<input type="date">` gives them) in
 * this machine's time zone: from the first millisecond of `from` to the last of `to`. An empty field
 * leaves that side open; a reversed range is taken the right way round.
 */
export function dayRange(from: string, to: string): { from?: number; to?: number } {
  const start = (s: string) => {
    const m = DAY.exec(s);
    return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).getTime() : undefined;
  };
  let a = start(from);
  let b = start(to);
  if (a !== undefined && b !== undefined && b < a) [a, b] = [b, a];
  // The end of a day is the start of the next, less one: right across daylight-saving changes too.
  const end = b === undefined ? undefined : new Date(new Date(b).getFullYear(), new Date(b).getMonth(), new Date(b).getDate() + 1).getTime() - 1;
  return { from: a, to: end };
}

/** The day `ms` falls on in this machine's time zone, as a date field writes it. */
export function dayOf(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** Local date and time to the second, for tables ("2026-12-02 14:03:07"). */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${dayOf(ms)} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** The columns of the history's CSV: both score scales named, time and folder first. */
export const HISTORY_CSV_COLUMNS = [
  'time',
  'station',
  'operator',
  'folder',
  'file',
  'imageSha256',
  'score',
  'threshold',
  'rawScore',
  'rawThreshold',
  'verdict',
  'kind',
  'correctionOf',
  'record',
  'model',
  'modelId',
  'modelVersion',
  'modelSha256',
  'source',
  'note',
] as const;

/** One record as every export writes it: `score` and `threshold` on the 0-1 scale, `raw…` on DifferNet's. */
export function exportRow(r: VerdictRecord): Record<(typeof HISTORY_CSV_COLUMNS)[number], string | number | null> {
  const { folder, file } = splitPath(r.imageName);
  return {
    time: new Date(r.time).toISOString(),
    station: r.station,
    operator: r.operator,
    folder,
    file,
    imageSha256: r.imageHash,
    score: sixDigits(r.score),
    threshold: r.rawThreshold === null ? null : DISPLAY_THRESHOLD,
    rawScore: sixDigits(r.rawScore),
    rawThreshold: sixDigits(r.rawThreshold),
    verdict: r.verdict,
    kind: r.kind,
    correctionOf: r.correctionOf,
    record: r.seq ?? null,
    model: r.model.name,
    modelId: r.model.id,
    modelVersion: r.model.version,
    modelSha256: r.model.hash,
    source: r.source,
    note: r.note ?? null,
  };
}

export function historyCsv(records: readonly VerdictRecord[]): string {
  return toCsv(
    HISTORY_CSV_COLUMNS,
    records.map((r) => {
      const row = exportRow(r);
      return HISTORY_CSV_COLUMNS.map((k) => row[k]);
    }),
  );
}

export function historyJson(records: readonly VerdictRecord[], exportedAt: number, query: HistoryQuery = {}): string {
  return JSON.stringify(
    {
      exportedAt: new Date(exportedAt).toISOString(),
      query: {
        from: query.from === undefined ? null : new Date(query.from).toISOString(),
        to: query.to === undefined ? null : new Date(query.to).toISOString(),
        modelId: query.modelId || null,
        verdict: query.verdict ?? 'all',
      },
      scales: 'score and threshold: 0-1, DEFECT at 0.5 and above; rawScore and rawThreshold: DifferNet mean of z², DEFECT at rawScore >= rawThreshold',
      records: records.map(exportRow),
    },
    null,
    2,
  );
}

/** What the user reads when the browser refuses to store more verdicts: what to do, and that nothing is lost yet. */
export function historyFullMessage(unsaved: number): string {
  const n = `${unsaved} verdict${unsaved === 1 ? '' : 's'}`;
  return (
    `The browser's storage is full: ${n} could not be written to the history and ${unsaved === 1 ? 'is' : 'are'} kept in this tab only (a reload would lose ${unsaved === 1 ? 'it' : 'them'}). ` +
    'Open History, export the records (CSV or JSON), then delete the older ones there; the kept verdicts are saved as soon as there is room.'
  );
}
