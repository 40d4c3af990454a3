import { DropZone } from '../../components/DropZone';
import { SortHeader as ColumnHeader } from '../../components/SortHeader';
import { ProgressBar } from '../../components/ProgressBar';
import { useState } from 'react';
import { describeCalibration, displayScale, displayScore, formatDisplayScore, formatRawScore, logHistogram, nearestCut, thresholdCuts, versionLabel } from '../../../core/inspection';
import { bestF1, calibratedAlternative, reportOf, useEvaluate, type EvalItem, type EvalSortKey } from '../../stores/evaluate';
import { useModels } from '../../stores/models';
import { RocChart, ScoreHistogram } from './Charts';
import { outcomeOf, sortedItems, worstFalseAlarms, worstMisses } from './diagnosis';
import { EvalDetail } from './EvalDetail';
import { evaluationCsv, evaluationJson } from './exportEval';
import { downloadBlob, safeFileName } from '../../lib/download';

/** Above this share of good images flagged, adopting a threshold asks first. */
const CONFIRM_FALSE_ALARMS = 0.5;

function pct(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : `${(100 * x).toFixed(1)} %`;
}

function SortHeader({ k, label }: { k: EvalSortKey; label: string }) {
  const sort = useEvaluate((s) => s.sort);
  const setSort = useEvaluate((s) => s.setSort);
  return <ColumnHeader k={k} label={label} sort={sort} onSort={setSort} />;
}

function Gallery({ title, items, empty, scale, testId }: { title: string; items: EvalItem[]; empty: string; scale: ReturnType<typeof displayScale> | null; testId: string }) {
  const open = useEvaluate((s) => s.openDetail);
  return (
    <div className="gallery-block" data-testid={testId}>
      <h3>{title}</h3>
      {items.length === 0 ? (
        <p className="muted small">{empty}</p>
      ) : (
        <ul className="gallery">
          {items.map((it) => (
            <li key={it.id}>
              <button type="button" className="gallery-item" onClick={() => open(it.id)} title={`Open ${it.name}`}>
                <img src={it.url} alt="" />
                <span className="small ellipsis">{it.name.split('/').pop()}</span>
                <span className="small muted">{it.category} · {scale ? formatDisplayScore(displayScore(it.score!, scale)) : formatRawScore(it.score!)}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function EvaluateScreen() {
  const record = useModels((s) => s.records.find((r) => r.id === s.activeId) ?? null);
  const st = useEvaluate();
  const trained = !!record && record.version > 0;
  const scored = st.items.filter((i) => i.score !== undefined && Number.isFinite(i.score));
  const scores = scored.map((i) => i.score!);
  const labels = scored.map((i) => i.label);
  const modelThreshold = record?.calibration?.threshold ?? null;
  const f1 = bestF1(st.items);
  const threshold = st.threshold ?? modelThreshold ?? f1 ?? null;
  const report = reportOf(scored, threshold);
  const counts = report.atThreshold;
  const f1At = f1 === null ? null : reportOf(scored, f1).atThreshold;
  // Rank positions: one slider step per distinct verdict split, however many decades the scores span.
  const cuts = thresholdCuts(scores);
  const nGood = st.items.filter((i) => i.label === 0).length;
  const rocAt = counts ? { fpr: counts.falseAlarmRate, tpr: counts.recall } : null;
  const roc = report.roc.fpr.map((fpr, i) => ({ fpr, tpr: report.roc.tpr[i], threshold: report.roc.thresholds[i] }));
  const scale = record?.calibration ? displayScale(record.calibration) : null;
  const [confirmF1, setConfirmF1] = useState(false);
  const order = sortedItems(st.items, st.sort);
  const detail = st.items.find((i) => i.id === st.detailId) ?? null;
  const perDefect = Object.entries(report.perDefect);
  // Asked every time: the cut is fitted to these very images, so what it shows here flatters it.
  const adoptF1 = () => {
    if (!confirmF1) setConfirmF1(true);
    else {
      setConfirmF1(false);
      void st.adopt('f1');
    }
  };
  const calibrated = record ? calibratedAlternative(record.calibration, record.id) : null;
  const exportAs = (kind: 'csv' | 'json') => {
    const c = { model: record && { name: record.name, id: record.id, version: st.scoredBy?.version ?? record.version }, threshold, calibration: record?.calibration ?? null, pixelAuroc: st.metrics?.pixelAuroc ?? null };
    const text = kind === 'csv' ? evaluationCsv(st.items, c) : evaluationJson(st.items, report, c);
    downloadBlob(new Blob([text], { type: kind === 'csv' ? 'text/csv' : 'application/json' }), `evaluation-${safeFileName(record?.name ?? 'model')}.${kind}`);
  };

  return (
    <div className="screen" data-testid="evaluate-screen">
      <h1>Evaluate{record ? ` “${record.name}”` : ''}</h1>
      {!trained ? (
        <p className="card" data-testid="no-model-hint">
          Teach and train a model first (<a href="#/teach">Teach screen</a>), or import one (<a href="#/models">Models screen</a>).
        </p>
      ) : (
        <>
          <section className="card">
            <h2>Labelled images</h2>
            <div className="row wrap align-start">
              <DropZone
                label="Drop a folder in the MVTec layout"
                hint={
                  <>
                    <code>test/good/*</code>, <code>test/&lt;defect&gt;/*</code>, optional <code>ground_truth/&lt;defect&gt;/&lt;name&gt;_mask.png</code>
                  </>
                }
                onFiles={st.addFolder}
                disabled={st.running}
                testId="eval-folder"
              />
              <DropZone label="Drop good images" onFiles={(f) => st.addTagged(f, 0)} disabled={st.running} testId="eval-good" folders />
              <DropZone label="Drop defective images" onFiles={(f) => st.addTagged(f, 1)} disabled={st.running} testId="eval-defect" folders />
            </div>
            <div className="row wrap spread">
              <span data-testid="eval-count">
                {st.items.length} images: {nGood} good, {st.items.length - nGood} defective, {st.items.filter((i) => i.mask).length} with masks
              </span>
              <div className="row">
                <button type="button" className="primary" onClick={() => void st.run()} disabled={st.running || st.items.length === 0} data-testid="eval-run">
                  {st.metrics ? 'Evaluate again' : 'Evaluate'}
                </button>
                <button type="button" className="secondary" onClick={st.clear} disabled={st.items.length === 0}>
                  Clear
                </button>
              </div>
            </div>
            {st.progress && <ProgressBar label="Scoring labelled images" done={st.progress.done} total={st.progress.total} etaSeconds={st.progress.etaSeconds} onCancel={st.cancel} />}
          </section>

          {st.metrics && (
            <section className="card" data-testid="eval-results">
              <div className="row wrap spread">
                <span className="small muted" data-testid="eval-scored-by">
                  {st.scoredBy
                    ? (() => {
                        const then = versionLabel(st.scoredBy.version, st.scoredBy.revision);
                        const now = versionLabel(record.version, record.calibration?.revision);
                        return `Scored by ${st.scoredBy.id === record.id ? `“${record.name}”` : 'another model'} ${then}${st.scoredBy.id === record.id && then !== now ? ` (now ${now}: evaluate again)` : ''}; kept in this browser until Clear.`;
                      })()
                    : ''}
                </span>
                <div className="row">
                  <button type="button" onClick={() => exportAs('csv')} data-testid="eval-export-csv">
                    Export CSV
                  </button>
                  <button type="button" onClick={() => exportAs('json')} data-testid="eval-export-json">
                    Export JSON
                  </button>
                </div>
              </div>
              <div className="metrics">
                <div className="metric">
                  <span className="muted small">Image AUROC</span>
                  <strong data-testid="auroc">{report.imageAuroc === null ? '—' : report.imageAuroc.toFixed(3)}</strong>
                </div>
                <div className="metric">
                  <span className="muted small">Pixel AUROC</span>
                  <strong data-testid="pixel-auroc">{st.metrics.pixelAuroc === null ? 'no masks' : st.metrics.pixelAuroc.toFixed(3)}</strong>
                </div>
                {counts && (
                  <>
                    <div className="metric">
                      <span className="muted small">Defects found</span>
                      <strong data-testid="recall">{pct(counts.recall)}</strong>
                    </div>
                    <div className="metric">
                      <span className="muted small">False alarms</span>
                      <strong data-testid="false-alarms">{pct(counts.falseAlarmRate)}</strong>
                    </div>
                    <div className="metric" title="Of the images flagged, the share that are defective">
                      <span className="muted small">Precision</span>
                      <strong data-testid="precision">{pct(counts.precision)}</strong>
                    </div>
                    <div className="metric" title="Harmonic mean of precision and recall">
                      <span className="muted small">F1</span>
                      <strong data-testid="f1">{Number.isFinite(counts.f1) ? counts.f1.toFixed(3) : '—'}</strong>
                    </div>
                  </>
                )}
              </div>
              {threshold !== null && cuts.length > 1 && (
                <div className="threshold-row">
                  <label className="threshold-label">
                    <span>
                      Threshold <strong data-testid="eval-threshold">{formatRawScore(threshold)}</strong> raw
                      {scale && <> · {formatDisplayScore(displayScore(threshold, scale))} on the model's 0–1 scale</>}
                    </span>
                    <input
                      type="range"
                      min={0}
                      max={cuts.length - 1}
                      step={1}
                      value={nearestCut(cuts, threshold)}
                      onChange={(e) => st.setThreshold(cuts[Number(e.target.value)])}
                      aria-valuetext={`${formatRawScore(threshold)}: ${counts ? `${counts.fp + counts.tp} of ${scores.length} flagged` : ''}`}
                      aria-label="Threshold"
                      data-testid="threshold-slider"
                    />
                  </label>
                  <button type="button" onClick={() => void st.adopt('slider')} disabled={st.threshold === null || !record.calibration}>
                    Use this threshold for the model
                  </button>
                  <button type="button" className="secondary" onClick={adoptF1} disabled={f1 === null || !record.calibration} data-testid="adopt-f1">
                    Use best-F1 threshold (raw {formatRawScore(f1 ?? NaN)}
                    {scale && f1 !== null ? `, ${formatDisplayScore(displayScore(f1, scale))} on the model's 0–1 scale` : ''}: {pct(f1At?.falseAlarmRate)} false alarms, {pct(f1At?.recall)} found)
                  </button>
                  {st.threshold !== null && (
                    <button type="button" className="link" onClick={() => st.setThreshold(null)}>
                      back to the model's ({formatRawScore(modelThreshold ?? NaN)})
                    </button>
                  )}
                </div>
              )}
              {calibrated && st.threshold === null && (
                <p className="row wrap small" data-testid="calibrated-alternative">
                  <span>This model's threshold was set on a labelled set ({describeCalibration(record.calibration!)}).</span>
                  <button type="button" className="secondary" onClick={() => void st.restoreCalibrated()} data-testid="restore-calibrated">
                    Back to the calibrated threshold ({formatRawScore(calibrated.threshold)} raw: {describeCalibration(calibrated)})
                  </button>
                </p>
              )}
              {confirmF1 && f1At && (
                <div className="warning-text row wrap" role="alertdialog" aria-label="Confirm the best-F1 threshold" data-testid="confirm-f1">
                  <span>
                    The best-F1 cut (raw {formatRawScore(f1 ?? NaN)}) was chosen on these {scored.length} labelled images themselves, so its {pct(f1At.falseAlarmRate)} false alarms and{' '}
                    {pct(f1At.recall)} found are flattering: expect more false alarms or misses on new parts.
                    {f1At.falseAlarmRate > CONFIRM_FALSE_ALARMS && ` It would flag ${pct(f1At.falseAlarmRate)} of the good images here (${f1At.fp} of ${f1At.fp + f1At.tn}): most good parts would be sent back.`}{' '}
                    The calibrated threshold stays one click away. Use the best-F1 cut?
                  </span>
                  <button type="button" onClick={adoptF1} data-testid="confirm-f1-yes">
                    Use the best-F1 cut
                  </button>
                  <button type="button" className="secondary" onClick={() => setConfirmF1(false)} autoFocus>
                    Keep the current threshold
                  </button>
                </div>
              )}
              {counts && (
                <table className="confusion" data-testid="confusion" aria-label="Confusion counts at the threshold">
                  <thead>
                    <tr>
                      <th></th>
                      <th>flagged DEFECT</th>
                      <th>passed OK</th>
                    </tr>
                  </thead>
                  <tbody>
                    <tr>
                      <th>defective</th>
                      <td data-testid="tp">{counts.tp}</td>
                      <td data-testid="fn">{counts.fn}</td>
                    </tr>
                    <tr>
                      <th>good</th>
                      <td data-testid="fp">{counts.fp}</td>
                      <td data-testid="tn">{counts.tn}</td>
                    </tr>
                  </tbody>
                </table>
              )}
              {perDefect.length > 0 && (
                <div className="table-wrap inline">
                  <table className="results per-defect" data-testid="per-defect" aria-label="AUROC and recall per defect type">
                    <thead>
                      <tr>
                        <th>Defect type</th>
                        <th className="num">Images</th>
                        <th className="num">AUROC vs. good</th>
                        <th className="num">Found at threshold</th>
                      </tr>
                    </thead>
                    <tbody>
                      {perDefect.map(([d, v]) => (
                        <tr key={d} data-defect={d}>
                          <td>{d}</td>
                          <td className="num">{v.n}</td>
                          <td className="num">{v.auroc === null ? '—' : v.auroc.toFixed(3)}</td>
                          <td className="num">{pct(v.recall)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
              <div className="galleries">
                <Gallery title="Worst false alarms" items={worstFalseAlarms(st.items, threshold)} empty="No good image is flagged at this threshold." scale={scale} testId="worst-false-alarms" />
                <Gallery title="Worst misses" items={worstMisses(st.items, threshold)} empty="No defective image passes at this threshold." scale={scale} testId="worst-misses" />
              </div>
              <div className="charts">
                <div>
                  <h3>Scores of good and defective images</h3>
                  <ScoreHistogram bins={logHistogram(scores, labels)} threshold={threshold} />
                </div>
                <div>
                  <h3>ROC curve</h3>
                  {roc.length > 0 ? <RocChart roc={roc} at={rocAt} /> : <p className="muted">Needs both good and defective images.</p>}
                </div>
              </div>
            </section>
          )}

          {st.items.length > 0 && (
            <section className="card">
              <div className="row spread wrap">
                <h2>Images</h2>
                {/* The column headers sort on wide screens; a phone stacks the cells and hides them. */}
                <label className="phone-only">
                  Sort{' '}
                  <select
                    value={`${st.sort.key}:${st.sort.desc ? 'desc' : 'asc'}`}
                    onChange={(e) => {
                      const [key, dir] = e.target.value.split(':');
                      st.setSort({ key: key as EvalSortKey, desc: dir === 'desc' });
                    }}
                    aria-label="Sort the images"
                  >
                    <option value="order:asc">as added</option>
                    <option value="score:desc">score, highest first</option>
                    <option value="score:asc">score, lowest first</option>
                    <option value="label:asc">label</option>
                    <option value="name:asc">name</option>
                  </select>
                </label>
              </div>
              <div className="table-wrap">
                <table className="results stack" data-testid="eval-table">
                  <thead>
                    <tr>
                      <SortHeader k="name" label="Image" />
                      <SortHeader k="label" label="Label" />
                      <SortHeader k="score" label="Score" />
                      <th>At threshold</th>
                    </tr>
                  </thead>
                  <tbody>
                    {order.map((it) => {
                      const o = outcomeOf(it, threshold);
                      const right = o === null ? null : o.outcome === 'true-defect' || o.outcome === 'true-ok';
                      return (
                        <tr key={it.id} className={it.id === st.detailId ? 'selected' : ''} data-outcome={o?.outcome ?? ''}>
                          <td className="name-cell">
                            <button type="button" className="link row-button" onClick={() => st.openDetail(it.id)} data-testid="eval-open" aria-haspopup="dialog">
                              <img src={it.url} alt="" className="mini" loading="lazy" />
                              {it.name}
                            </button>
                            {it.mask ? ' · mask' : ''}
                            {it.error && <div className="error-text small">{it.error}</div>}
                          </td>
                          <td data-label="Label">
                            <select value={it.label} onChange={(e) => void st.setLabel(it.id, Number(e.target.value) as 0 | 1)} aria-label={`Label of ${it.name}`} disabled={st.running}>
                              <option value={0}>good</option>
                              <option value={1}>defect{it.category !== 'good' && it.category !== 'defect' ? ` (${it.category})` : ''}</option>
                            </select>
                          </td>
                          <td className="num" data-label="Score" title={it.score !== undefined ? `raw ${formatRawScore(it.score)}` : undefined} data-raw={it.score ?? ''}>
                            {it.score === undefined ? '—' : scale ? formatDisplayScore(displayScore(it.score, scale)) : formatRawScore(it.score)}
                          </td>
                          <td data-label="At threshold">{right === null || !o ? '' : <span className={`verdict ${right ? 'ok' : 'defect'}`}>{o.flagged ? 'DEFECT' : 'OK'}{right ? ' ✓' : ' ✗'}</span>}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            </section>
          )}
          {detail && <EvalDetail item={detail} order={order} record={record} threshold={threshold} scale={scale} />}
        </>
      )}
    </div>
  );
}
