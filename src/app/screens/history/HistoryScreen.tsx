import { useEffect, useMemo, useState } from 'react';
import {
  dayOf,
  formatDisplayScore,
  formatRawScore,
  historyCsv,
  historyFullMessage,
  historyJson,
  latestCorrections,
  matchesQuery,
  splitPath,
  dayRange,
  type HistoryVerdictFilter,
  type VerdictRecord,
  versionLabel,
} from '../../../core/inspection';
import { downloadBlob } from '../../lib/download';
import { reportHash } from '../report/reportData';
import { useHistory } from '../../stores/history';
import { useModels } from '../../stores/models';
import { reportError, useNotices } from '../../stores/notices';
import { formatDateTime } from '../../lib/format';

/** Rows drawn at once; the exports always hold every matching record. */
const PAGE = 200;

function StationForm() {
  const { station, operator, setIdentity } = useHistory();
  const [s, setS] = useState(station);
  const [o, setO] = useState(operator);
  const changed = s.trim() !== station || o.trim() !== operator;
  return (
    <section className="card" aria-labelledby="station-title" data-testid="station-form">
      <h2 id="station-title">This station</h2>
      <form
        className="row wrap align-end"
        onSubmit={(e) => {
          e.preventDefault();
          setIdentity(s, o);
          useNotices.getState().push('info', 'Station and operator saved: every verdict from now on carries them.');
        }}
      >
        <label className="field">
          <span>Station name</span>
          <input value={s} onChange={(e) => setS(e.target.value)} maxLength={80} placeholder="e.g. Line 2, bench 3" data-testid="station-name" />
        </label>
        <label className="field">
          <span>Operator</span>
          <input value={o} onChange={(e) => setO(e.target.value)} maxLength={80} placeholder="name or badge" data-testid="operator-name" />
        </label>
        <button type="submit" disabled={!changed} data-testid="station-save">
          Save
        </button>
      </form>
      <p className="small muted">
        Set once for this browser; recorded with every verdict given here.{' '}
        {!station && !operator && <strong className="warning-text">Not set yet: verdicts are recorded without a station or operator.</strong>}
      </p>
    </section>
  );
}

function CleanUp({ oldest, full }: { oldest: number | null; full: boolean }) {
  const deleteBefore = useHistory((s) => s.deleteBefore);
  const [day, setDay] = useState('');
  const [confirming, setConfirming] = useState(false);
  return (
    // Opened by itself when storage is full: the way out is right here.
    <details className="card" data-testid="history-cleanup" open={full || undefined}>
      <summary>Free space: delete older records</summary>
      <p className="small">
        The history only grows. When the browser's storage runs out, export the records first (CSV or JSON above, with the date range you want to keep on file), then delete the older
        ones here. Nothing else deletes a record.
      </p>
      <div className="row wrap">
        <label>
          Delete every record before{' '}
          <input type="date" value={day} onChange={(e) => (setDay(e.target.value), setConfirming(false))} data-testid="cleanup-day" />
        </label>
        <button type="button" className="secondary" disabled={!day} onClick={() => setConfirming(true)} data-testid="cleanup-start">
          Delete…
        </button>
      </div>
      {oldest !== null && <p className="small muted">Oldest record shown: {formatDateTime(oldest)}.</p>}
      {confirming && (
        <div className="warning-text row wrap" role="alertdialog" aria-label="Confirm deleting older records">
          <span>Delete every verdict recorded before {day}, for good? Export them first if you may need them.</span>
          <button
            type="button"
            className="danger"
            data-testid="cleanup-confirm"
            onClick={async () => {
              setConfirming(false);
              try {
                const n = await deleteBefore(day);
                useNotices.getState().push('info', `${n} record${n === 1 ? '' : 's'} before ${day} deleted from the history.`);
              } catch (e) {
                reportError(e, 'The older records could not be deleted');
              }
            }}
          >
            Delete for good
          </button>
          <button type="button" className="secondary" onClick={() => setConfirming(false)} autoFocus>
            Keep them
          </button>
        </div>
      )}
    </details>
  );
}

function CorrectButton({ r, current }: { r: VerdictRecord; current: VerdictRecord['verdict'] }) {
  const correct = useHistory((s) => s.correct);
  const [busy, setBusy] = useState(false);
  if (r.kind !== 'verdict' || r.seq === undefined || current === 'UNCALIBRATED') return null;
  const to = current === 'DEFECT' ? 'OK' : 'DEFECT';
  const name = splitPath(r.imageName).file;
  return (
    <button
      type="button"
      className="secondary small"
      disabled={busy}
      data-testid="history-correct"
      aria-label={`${to === 'OK' ? 'Mark good' : 'Mark defect'}: ${name}`}
      onClick={async () => {
        setBusy(true);
        try {
          await correct(r, to);
        } catch (e) {
          reportError(e, 'The correction could not be recorded');
        } finally {
          setBusy(false);
        }
      }}
    >
      {to === 'OK' ? 'Mark good' : 'Mark defect'}
    </button>
  );
}

export function HistoryScreen() {
  const st = useHistory();
  const models = useModels((s) => s.records);
  const [shown, setShown] = useState(PAGE);

  // Read once; later verdicts join the loaded list as they are saved.
  useEffect(() => {
    if (!useHistory.getState().loaded) void useHistory.getState().load();
  }, []);

  const query = { ...dayRange(st.filters.fromDay, st.filters.toDay), modelId: st.filters.modelId, verdict: st.filters.verdict };
  // What failed to save is part of the trail too: shown and exported, marked as not saved yet.
  const all = useMemo(() => [...st.unsaved.slice().reverse(), ...st.records], [st.unsaved, st.records]);
  const matching = all.filter((r) => matchesQuery(r, query));
  const corrections = useMemo(() => latestCorrections(all), [all]);
  const modelOptions = useMemo(() => {
    const m = new Map<string, string>();
    for (const r of models) m.set(r.id, r.name);
    for (const r of all) if (!m.has(r.model.id)) m.set(r.model.id, `${r.model.name} (deleted)`);
    return [...m];
  }, [models, all]);
  const oldest = st.records.length ? st.records[st.records.length - 1].time : null;

  const exportAs = (kind: 'csv' | 'json') => {
    // Oldest first in files: the order a trail is read on paper.
    const rows = matching.slice().reverse();
    const text = kind === 'csv' ? historyCsv(rows) : historyJson(rows, Date.now(), query);
    const range = [st.filters.fromDay, st.filters.toDay].filter(Boolean).join('_to_') || dayOf(Date.now());
    downloadBlob(new Blob([text], { type: kind === 'csv' ? 'text/csv' : 'application/json' }), `verdict-history-${range}.${kind}`);
  };

  const setVerdict = (v: string) => st.setFilters({ verdict: v as HistoryVerdictFilter });

  return (
    <div className="screen" data-testid="history-screen">
      <h1>History</h1>
      <p className="muted">
        Every verdict given in Inspect and Live is recorded here, with the image's SHA-256, the model version and its threshold. Records are never changed: a correction is a new record that
        names the one it corrects.
      </p>
      <StationForm />
      {st.unsaved.length > 0 && (
        <div className="error-list" role="alert" data-testid="history-unsaved">
          <p>{st.full ? historyFullMessage(st.unsaved.length) : `${st.unsaved.length} verdicts could not be written to the history and are kept in this tab only.`}</p>
          <button type="button" onClick={() => void st.flush()}>
            Try saving again
          </button>
        </div>
      )}
      <section className="card" aria-labelledby="search-title">
        <h2 id="search-title">Search</h2>
        <div className="row wrap align-end history-search">
          <label className="field">
            <span>From</span>
            <input type="date" value={st.filters.fromDay} onChange={(e) => st.setFilters({ fromDay: e.target.value })} data-testid="history-from" />
          </label>
          <label className="field">
            <span>To</span>
            <input type="date" value={st.filters.toDay} onChange={(e) => st.setFilters({ toDay: e.target.value })} data-testid="history-to" />
          </label>
          <label className="field">
            <span>Model</span>
            <select value={st.filters.modelId} onChange={(e) => st.setFilters({ modelId: e.target.value })} data-testid="history-model">
              <option value="">every model</option>
              {modelOptions.map(([id, name]) => (
                <option key={id} value={id}>
                  {name}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Verdict</span>
            <select value={st.filters.verdict} onChange={(e) => setVerdict(e.target.value)} data-testid="history-verdict">
              <option value="all">all</option>
              <option value="DEFECT">DEFECT</option>
              <option value="OK">OK</option>
              <option value="UNCALIBRATED">no threshold</option>
              <option value="corrections">corrections</option>
            </select>
          </label>
          <div className="row wrap">
            <button type="button" onClick={() => exportAs('csv')} disabled={matching.length === 0} data-testid="history-export-csv">
              Export CSV
            </button>
            <button type="button" onClick={() => exportAs('json')} disabled={matching.length === 0} data-testid="history-export-json">
              Export JSON
            </button>
            <a
              className="button-link"
              href={reportHash({ kind: 'history', fromDay: st.filters.fromDay || st.filters.toDay || dayOf(Date.now()), toDay: st.filters.toDay || st.filters.fromDay || dayOf(Date.now()), modelId: st.filters.modelId })}
              data-testid="history-report"
              title="Summary, models and thresholds, and the flagged images of these days, laid out for A4 or Letter"
            >
              Printable report
            </a>
          </div>
        </div>
        <p className="small" role="status" data-testid="history-count">
          {st.loading && !st.loaded
            ? 'Reading the history…'
            : `${matching.length} record${matching.length === 1 ? '' : 's'} match${matching.length === 1 ? 'es' : ''}${matching.length > shown ? ` · the newest ${shown} are shown; the exports hold all` : ''}.`}
        </p>
      </section>
      {matching.length > 0 && (
        <div className="table-wrap">
          <table className="results stack" data-testid="history-table">
            <caption className="visually-hidden">Recorded verdicts, newest first</caption>
            <thead>
              <tr>
                <th>Time</th>
                <th>Image</th>
                <th className="num" title="0-1, DEFECT at 0.5 and above">
                  Score
                </th>
                <th className="num" title="DifferNet's raw score against the model's raw threshold">
                  Raw score / threshold
                </th>
                <th>Verdict</th>
                <th>Model</th>
                <th>Station · operator</th>
                <th>
                  <span className="visually-hidden">Correction</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {matching.slice(0, shown).map((r, i) => {
                const fix = r.seq !== undefined ? corrections.get(r.seq) : undefined;
                const { folder, file } = splitPath(r.imageName);
                const unsaved = r.seq === undefined;
                return (
                  <tr key={r.seq ?? `unsaved-${i}`} data-testid="history-row" data-kind={r.kind} data-verdict={r.verdict}>
                    <td data-label="Time" className="nowrap">
                      {formatDateTime(r.time)}
                      {unsaved && <div className="error-text small">not saved yet</div>}
                    </td>
                    <td data-label="Image" className="name-cell" title={r.imageHash ? `SHA-256 ${r.imageHash}` : 'no hash (this browser cannot hash files here)'}>
                      <span>
                        {folder && <span className="muted">{folder}/</span>}
                        {file}
                      </span>
                    </td>
                    <td data-label="Score" className="num">
                      {r.score === null ? '—' : formatDisplayScore(r.score)}
                    </td>
                    <td data-label="Raw / thr." className="num small">
                      {formatRawScore(r.rawScore)} / {r.rawThreshold === null ? '—' : formatRawScore(r.rawThreshold)}
                    </td>
                    <td data-label="Verdict">
                      <span className={`verdict ${r.verdict.toLowerCase()}`}>{r.verdict === 'UNCALIBRATED' ? 'NO THRESHOLD' : r.verdict}</span>
                      {r.kind === 'correction' && <div className="small">correction of record {r.correctionOf}</div>}
                      {fix && (
                        <div className="small warning-text" data-testid="history-corrected">
                          {fix.verdict === r.verdict ? 'correction withdrawn: the verdict stands' : `corrected to ${fix.verdict}`}
                        </div>
                      )}
                    </td>
                    <td data-label="Model" className="small" title={r.model.hash ? `model file SHA-256 ${r.model.hash}` : undefined}>
                      {r.model.name} {versionLabel(r.model.version, r.model.revision)}
                    </td>
                    <td data-label="Station" className="small">
                      {[r.station, r.operator].filter(Boolean).join(' · ') || <span className="muted">not set</span>}
                    </td>
                    {/* A correction is corrected through its original: no button, and no empty "Correct" line on phones. */}
                    <td data-label={r.kind === 'verdict' && !unsaved ? 'Correct' : undefined}>
                      <CorrectButton r={r} current={fix?.verdict ?? r.verdict} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {matching.length > shown && (
        <button type="button" className="secondary" onClick={() => setShown((n) => n + PAGE)}>
          Show {Math.min(PAGE, matching.length - shown)} more
        </button>
      )}
      {st.loaded && all.length === 0 && <p className="card muted">No verdicts recorded yet: inspect images (Inspect screen) and each verdict appears here.</p>}
      <CleanUp oldest={oldest} full={st.full} />
    </div>
  );
}
