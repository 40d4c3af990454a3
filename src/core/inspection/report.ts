// What a printed report of a batch or of a day says: counts and rates, the flagged parts first by score,
// and the paper it is laid out for. Pure data; the app draws it and the browser prints it.
import { latestCorrections, type HistorySource, type VerdictRecord } from './history';
import { versionLabel } from './calibration';

export type ReportVerdict = 'OK' | 'DEFECT' | 'UNCALIBRATED' | 'ERROR';

/** One judged image (or Live frame) of the report. */
export interface ReportRow {
  /** When it was scored (ms since 1970); null for an image that failed before a score. */
  time: number | null;
  name: string;
  verdict: ReportVerdict;
  /** The 0-1 score people see (threshold 0.5), and DifferNet's raw one. */
  score: number | null;
  rawScore: number | null;
  /** "name vN" of the model that judged it. */
  model: string;
  source: HistorySource;
  /** What a person later said the part is, when they corrected the verdict. */
  correctedTo?: 'OK' | 'DEFECT';
  /** The history record's seq or the batch item's id: how the app finds the image again. */
  key: string;
}

export interface ReportSummary {
  total: number;
  ok: number;
  defect: number;
  uncalibrated: number;
  errors: number;
  /** Flagged among the judged (OK + DEFECT); null when none was judged. */
  failRate: number | null;
  /** Verdicts a person corrected, each way. */
  markedGood: number;
  markedDefect: number;
  /** The time of the first and the last scored image; null when none has a time. */
  first: number | null;
  last: number | null;
  /** Every model that judged a row, in the order first seen. */
  models: string[];
  bySource: Record<HistorySource, number>;
}

export function reportSummary(rows: readonly ReportRow[]): ReportSummary {
  const s: ReportSummary = { total: rows.length, ok: 0, defect: 0, uncalibrated: 0, errors: 0, failRate: null, markedGood: 0, markedDefect: 0, first: null, last: null, models: [], bySource: { inspect: 0, live: 0 } };
  for (const r of rows) {
    if (r.verdict === 'OK') s.ok++;
    else if (r.verdict === 'DEFECT') s.defect++;
    else if (r.verdict === 'UNCALIBRATED') s.uncalibrated++;
    else s.errors++;
    if (r.correctedTo === 'OK' && r.verdict === 'DEFECT') s.markedGood++;
    if (r.correctedTo === 'DEFECT' && r.verdict === 'OK') s.markedDefect++;
    if (r.time !== null) {
      s.first = s.first === null ? r.time : Math.min(s.first, r.time);
      s.last = s.last === null ? r.time : Math.max(s.last, r.time);
    }
    if (r.model && !s.models.includes(r.model)) s.models.push(r.model);
    s.bySource[r.source]++;
  }
  s.failRate = s.ok + s.defect > 0 ? s.defect / (s.ok + s.defect) : null;
  return s;
}

/** The history's verdicts as report rows, each with its latest correction; corrections are not rows of their own. */
export function historyReportRows(records: readonly VerdictRecord[]): ReportRow[] {
  const fixes = latestCorrections(records);
  return records
    .filter((r) => r.kind === 'verdict')
    .map((r) => {
      const fix = r.seq !== undefined ? fixes.get(r.seq) : undefined;
      return {
        time: r.time,
        name: r.imageName,
        verdict: r.verdict,
        score: r.score,
        rawScore: r.rawScore,
        model: `${r.model.name} ${versionLabel(r.model.version, r.model.revision)}`,
        source: r.source,
        // A correction taken back (the same verdict again) leaves the verdict as given.
        correctedTo: fix && fix.verdict !== 'UNCALIBRATED' && fix.verdict !== r.verdict ? fix.verdict : undefined,
        key: String(r.seq ?? `${r.time}:${r.imageName}`),
      };
    })
    .sort((a, b) => (a.time ?? 0) - (b.time ?? 0));
}

/** A printed report shows at most this many flagged images (about eight pages); the rest are counted. */
export const REPORT_MAX_FLAGGED = 48;

/**
 * The flagged rows to print, highest score first (the worst parts on the first page), at most `max`;
 * a flagged part a person marked good stays in, marked as such.
 */
export function flaggedRows(rows: readonly ReportRow[], max = REPORT_MAX_FLAGGED): { shown: ReportRow[]; more: number } {
  const flagged = rows.filter((r) => r.verdict === 'DEFECT').sort((a, b) => (b.rawScore ?? 0) - (a.rawScore ?? 0) || (a.time ?? 0) - (b.time ?? 0));
  return { shown: flagged.slice(0, max), more: Math.max(0, flagged.length - max) };
}

export type Paper = 'a4' | 'letter';

export const PAPERS: Record<Paper, { label: string; widthMm: number; heightMm: number }> = {
  a4: { label: 'A4 (210 × 297 mm)', widthMm: 210, heightMm: 297 },
  letter: { label: 'Letter (8.5 × 11 in)', widthMm: 215.9, heightMm: 279.4 },
};

/** Letter where the browser's locale is American or Canadian (where Letter is the office paper), else A4. */
export function defaultPaper(locale: string): Paper {
  return /-(US|CA|MX|PH)\b/i.test(locale) ? 'letter' : 'a4';
}
