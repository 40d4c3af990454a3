import { useEffect, useMemo, useState } from 'react';
import { dayOf, defaultPaper, flaggedRows, formatDisplayScore, formatRawScore, PAPERS, reportSummary, type Paper, type ReportRow } from '../../../core/inspection';
import { overlayPng, type OverlayInput } from '../../lib/overlay';
import { useEngine } from '../../stores/engine';
import { useHistory } from '../../stores/history';
import { useInspect } from '../../stores/inspect';
import { useModels } from '../../stores/models';
import { hashParams } from '..';
import './report.css';
import { batchReport, historyReport, reportHash, sourceFromParams, type ReportData, type ReportSource } from './reportData';
import { formatDateTime } from '../../lib/format';

const PAPER_KEY = 'differnet.reportPaper';

function useHashParams(): URLSearchParams {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return useMemo(() => hashParams(hash), [hash]);
}

function storedPaper(): Paper {
  try {
    const p = localStorage.getItem(PAPER_KEY);
    if (p === 'a4' || p === 'letter') return p;
  } catch {
    // Private windows may refuse storage: the locale's paper then.
  }
  return defaultPaper(navigator.language);
}

/** "2026-12-02 09:14:03 to 11:40:55", or the full second time when the span crosses midnight. */
function span(first: number | null, last: number | null, today: string): string {
  if (first === null || last === null) return today;
  if (first === last) return formatDateTime(first);
  return `${formatDateTime(first)} to ${dayOf(first) === dayOf(last) ? formatDateTime(last).slice(11) : formatDateTime(last)}`;
}

const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)} %`);

/** The overlay of one flagged image, drawn when the report opens (object URLs revoked when it closes). */
function useOverlays(inputs: Map<string, OverlayInput>, keys: string[], palette: Uint8Array | null): Map<string, string> {
  const [urls, setUrls] = useState(new Map<string, string>());
  const wanted = keys.filter((k) => inputs.has(k)).join('|');
  useEffect(() => {
    let live = true;
    const made: string[] = [];
    setUrls(new Map());
    void (async () => {
      for (const k of wanted ? wanted.split('|') : []) {
        try {
          const url = URL.createObjectURL(await overlayPng(inputs.get(k)!, palette));
          made.push(url);
          if (!live) break;
          setUrls((m) => new Map(m).set(k, url));
        } catch {
          // An image the browser cannot decode any more is printed without its picture, named as such.
        }
      }
    })();
    return () => {
      live = false;
      for (const u of made) URL.revokeObjectURL(u);
    };
  }, [inputs, wanted, palette]);
  return urls;
}

function Flagged({ row, url, hasImage }: { row: ReportRow; url: string | undefined; hasImage: boolean }) {
  return (
    <figure className="report-figure" data-testid="report-flagged">
      {url ? <img src={url} alt={`Overlay of ${row.name}: defect heatmap, verdict and score`} /> : <div className="report-noimage">{hasImage ? 'Drawing the overlay…' : 'Image not kept in this browser'}</div>}
      <figcaption>
        <strong>{row.name}</strong>
        <br />
        score {row.score === null ? '—' : formatDisplayScore(row.score)} · raw {row.rawScore === null ? '—' : formatRawScore(row.rawScore)}
        {row.time !== null && ` · ${formatDateTime(row.time)}`}
        {row.correctedTo === 'OK' && (
          <>
            <br />
            <em>Marked good by a person (a false alarm)</em>
          </>
        )}
      </figcaption>
    </figure>
  );
}

export function ReportScreen() {
  const params = useHashParams();
  const today = dayOf(Date.now());
  const source: ReportSource = sourceFromParams(params, today);
  const sourceKey = reportHash(source);
  const items = useInspect((s) => s.items);
  const models = useModels((s) => s.records);
  const palette = useEngine((s) => s.palette);
  const { station, operator } = useHistory();
  const [paper, setPaperState] = useState<Paper>(storedPaper);
  const [data, setData] = useState<ReportData | null>(null);
  const [error, setError] = useState<string | null>(null);

  const setPaper = (p: Paper) => {
    setPaperState(p);
    try {
      localStorage.setItem(PAPER_KEY, p);
    } catch {
      // Not remembered, still used.
    }
  };

  useEffect(() => {
    let live = true;
    setError(null);
    if (source.kind === 'batch') {
      setData(batchReport(items));
      return;
    }
    setData(null);
    // Verdicts still waiting to be written join the trail first, so the report holds the last ones too.
    void useHistory
      .getState()
      .flush()
      .then(() => historyReport(source, items, models))
      .then(
        (d) => live && setData(d),
        (e: unknown) => live && setError(`The history could not be read: ${e instanceof Error ? e.message : String(e)}`),
      );
    return () => {
      live = false;
    };
    // The source is rebuilt each render; its hash (sourceKey) says when it changed.
  }, [sourceKey, items, models]);

  const summary = useMemo(() => (data ? reportSummary(data.rows) : null), [data]);
  const flagged = useMemo(() => (data ? flaggedRows(data.rows) : { shown: [], more: 0 }), [data]);
  const urls = useOverlays(
    data?.images ?? new Map(),
    flagged.shown.map((r) => r.key),
    palette,
  );

  const title = source.kind === 'batch' ? 'Inspection report: batch' : source.fromDay === source.toDay ? `Inspection report: ${source.fromDay}` : `Inspection report: ${source.fromDay} to ${source.toDay}`;
  const drawn = flagged.shown.filter((r) => data?.images.has(r.key)).every((r) => urls.has(r.key));

  return (
    <div className="screen" data-testid="report-screen">
      <div className="report-controls card no-print">
        <h1>Report</h1>
        <div className="row wrap align-end">
          <label className="field">
            <span>Of</span>
            <select
              value={source.kind}
              onChange={(e) => (location.hash = reportHash(e.target.value === 'batch' ? { kind: 'batch' } : { kind: 'history', fromDay: today, toDay: today, modelId: '' }))}
              data-testid="report-source"
            >
              <option value="batch">the Inspect batch</option>
              <option value="history">days of the History</option>
            </select>
          </label>
          {source.kind === 'history' && (
            <>
              <label className="field">
                <span>From</span>
                <input type="date" value={source.fromDay} onChange={(e) => e.target.value && (location.hash = reportHash({ ...source, fromDay: e.target.value }))} data-testid="report-from" />
              </label>
              <label className="field">
                <span>To</span>
                <input type="date" value={source.toDay} onChange={(e) => e.target.value && (location.hash = reportHash({ ...source, toDay: e.target.value }))} data-testid="report-to" />
              </label>
            </>
          )}
          <label className="field">
            <span>Paper</span>
            <select value={paper} onChange={(e) => setPaper(e.target.value as Paper)} data-testid="report-paper">
              {(Object.keys(PAPERS) as Paper[]).map((p) => (
                <option key={p} value={p}>
                  {PAPERS[p].label}
                </option>
              ))}
            </select>
          </label>
          <button type="button" className="primary" onClick={() => window.print()} disabled={!data} data-testid="report-print">
            Print or save as PDF
          </button>
        </div>
        <p className="small muted">
          The browser's print dialog saves a PDF (“Save as PDF” as the destination); choose the same paper there. Only the sheet below is printed.{' '}
          <a href={source.kind === 'batch' ? '#/inspect' : '#/history'}>Back to {source.kind === 'batch' ? 'Inspect' : 'History'}</a>
        </p>
      </div>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      {!data && !error && <p aria-busy="true">Reading the history…</p>}
      {data && summary && (
        <article className="report" data-paper={paper} data-testid="report" data-ready={drawn ? 'yes' : 'no'} aria-labelledby="report-title">
          <header className="report-head">
            <h2 id="report-title">{title}</h2>
            <dl className="report-meta">
              <div>
                <dt>Station</dt>
                <dd data-testid="report-station">{station || 'not set'}</dd>
              </div>
              <div>
                <dt>Operator</dt>
                <dd data-testid="report-operator">{operator || 'not set'}</dd>
              </div>
              <div>
                <dt>Date</dt>
                <dd>{span(summary.first, summary.last, today)}</dd>
              </div>
              <div>
                <dt>Printed</dt>
                <dd>{formatDateTime(Date.now())}</dd>
              </div>
            </dl>
          </header>
          <section aria-labelledby="report-summary-title">
            <h3 id="report-summary-title">Summary</h3>
            {summary.total === 0 ? (
              <p data-testid="report-empty">No verdicts {source.kind === 'batch' ? 'in the Inspect batch' : 'in this date range'}.</p>
            ) : (
              <table className="report-table" data-testid="report-summary">
                <tbody>
                  <tr>
                    <th scope="row">Images judged</th>
                    <td>
                      {summary.total}
                      {summary.bySource.live > 0 && ` (${summary.bySource.inspect} in Inspect, ${summary.bySource.live} Live frames)`}
                    </td>
                  </tr>
                  <tr>
                    <th scope="row">Passed (OK)</th>
                    <td data-testid="report-ok">{summary.ok}</td>
                  </tr>
                  <tr>
                    <th scope="row">Flagged (DEFECT)</th>
                    <td data-testid="report-defect">{summary.defect}</td>
                  </tr>
                  <tr>
                    <th scope="row">Fail rate</th>
                    <td data-testid="report-rate">{pct(summary.failRate)} of judged images</td>
                  </tr>
                  {summary.uncalibrated + summary.errors > 0 && (
                    <tr>
                      <th scope="row">Not judged</th>
                      <td>
                        {summary.uncalibrated} without a threshold, {summary.errors} failed to score
                      </td>
                    </tr>
                  )}
                  {summary.markedGood + summary.markedDefect > 0 && (
                    <tr>
                      <th scope="row">Corrected by a person</th>
                      <td>
                        {summary.markedGood} flagged part{summary.markedGood === 1 ? '' : 's'} marked good (false alarms), {summary.markedDefect} passed part{summary.markedDefect === 1 ? '' : 's'} marked defective (misses)
                      </td>
                    </tr>
                  )}
                </tbody>
              </table>
            )}
          </section>
          <section aria-labelledby="report-model-title">
            <h3 id="report-model-title">Model and threshold</h3>
            {data.models.length === 0 && <p>No model judged these images.</p>}
            <ul className="plain report-models">
              {data.models.map((m) => (
                <li key={`${m.label}@${m.rawThreshold}`} data-testid="report-model">
                  <strong>{m.label}</strong>: {m.sentence}
                </li>
              ))}
            </ul>
            <p className="small">
              Scores run from 0 to 1 with the threshold at 0.5 (DEFECT at 0.5 and above); the raw DifferNet score (mean of z², unbounded) is given beside them. Heatmaps: clear up to the
              good images' usual level, the lower half of the colours for the good range, the upper half up to the image's own peak.
            </p>
          </section>
          <section aria-labelledby="report-flagged-title">
            <h3 id="report-flagged-title">Flagged images ({summary.defect})</h3>
            {flagged.shown.length === 0 ? (
              <p>None.</p>
            ) : (
              <>
                <p className="small">Highest score first.{flagged.more > 0 && ` The ${flagged.more} with the lowest scores are not shown (History's export lists them all).`}</p>
                <div className="report-grid">
                  {flagged.shown.map((r) => (
                    <Flagged key={r.key} row={r} url={urls.get(r.key)} hasImage={!!data.images.has(r.key)} />
                  ))}
                </div>
              </>
            )}
          </section>
          <footer className="report-foot small">DifferNet Inspector · judged on this machine; no image left it.</footer>
        </article>
      )}
    </div>
  );
}
