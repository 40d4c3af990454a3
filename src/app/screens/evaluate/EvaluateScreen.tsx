import { DropZone } from '../../components/DropZone';
import { ProgressBar } from '../../components/ProgressBar';
import { countsAt, histogram } from '../../lib/confusion';
import { formatScore } from '../../lib/format';
import { useEvaluate } from '../../stores/evaluate';
import { useModels } from '../../stores/models';
import { RocChart, ScoreHistogram } from './Charts';

const SLIDER_STEPS = 1000;

/** Slider position -> threshold; the ends are exactly the lowest and highest score (lo + (hi - lo) may not be hi). */
function sliderThreshold(pos: number, lo: number, hi: number): number {
  if (pos <= 0) return lo;
  if (pos >= SLIDER_STEPS) return hi;
  return lo + ((hi - lo) * pos) / SLIDER_STEPS;
}

function pct(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : `${(100 * x).toFixed(1)} %`;
}

export function EvaluateScreen() {
  const record = useModels((s) => s.records.find((r) => r.id === s.activeId) ?? null);
  const st = useEvaluate();
  const trained = !!record && record.version > 0;
  const scored = st.items.filter((i) => i.score !== undefined && Number.isFinite(i.score));
  const scores = scored.map((i) => i.score!);
  const labels = scored.map((i) => i.label);
  const modelThreshold = record?.calibration?.threshold ?? null;
  const threshold = st.threshold ?? modelThreshold ?? st.metrics?.f1Threshold ?? null;
  const counts = threshold !== null ? countsAt(scores, labels, threshold) : null;
  const lo = scores.length ? Math.min(...scores) : 0;
  const hi = scores.length ? Math.max(...scores) : 1;
  const nGood = st.items.filter((i) => i.label === 0).length;
  const rocAt = counts ? { fpr: counts.fp / Math.max(1, counts.fp + counts.tn), tpr: counts.tp / Math.max(1, counts.tp + counts.fn) } : null;

  return (
    <div className="screen" data-testid="evaluate-screen">
      <h1>Evaluate{record ? ` “${record.name}”` : ''}</h1>
      {!trained ? (
        <p className="card">Teach and train a model first, or import one.</p>
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
              <div className="metrics">
                <div className="metric">
                  <span className="muted small">Image AUROC</span>
                  <strong data-testid="auroc">{st.metrics.auroc === null ? '—' : st.metrics.auroc.toFixed(3)}</strong>
                </div>
                <div className="metric">
                  <span className="muted small">Pixel AUROC</span>
                  <strong data-testid="pixel-auroc">{st.metrics.pixelAuroc === null ? 'no masks' : st.metrics.pixelAuroc.toFixed(3)}</strong>
                </div>
                {counts && (
                  <>
                    <div className="metric">
                      <span className="muted small">Defects found</span>
                      <strong>{pct(counts.tp / Math.max(1, counts.tp + counts.fn))}</strong>
                    </div>
                    <div className="metric">
                      <span className="muted small">False alarms</span>
                      <strong>{pct(counts.fp / Math.max(1, counts.fp + counts.tn))}</strong>
                    </div>
                  </>
                )}
              </div>
              {threshold !== null && scores.length > 1 && (
                <div className="threshold-row">
                  <label className="threshold-label">
                    <span>
                      Threshold <strong data-testid="eval-threshold">{formatScore(threshold)}</strong>
                    </span>
                    <input
                      type="range"
                      min={0}
                      max={SLIDER_STEPS}
                      step={1}
                      value={Math.round((SLIDER_STEPS * (Math.min(hi, Math.max(lo, threshold)) - lo)) / (hi - lo || 1))}
                      onChange={(e) => st.setThreshold(sliderThreshold(Number(e.target.value), lo, hi))}
                      aria-valuetext={formatScore(threshold)}
                      aria-label="Threshold"
                      data-testid="threshold-slider"
                    />
                  </label>
                  <button type="button" onClick={() => void st.adopt('slider')} disabled={st.threshold === null || !record.calibration}>
                    Use this threshold for the model
                  </button>
                  <button type="button" className="secondary" onClick={() => void st.adopt('f1')} disabled={st.metrics.f1Threshold === null || !record.calibration}>
                    Use best-F1 threshold ({formatScore(st.metrics.f1Threshold)})
                  </button>
                  {st.threshold !== null && (
                    <button type="button" className="link" onClick={() => st.setThreshold(null)}>
                      back to the model's ({formatScore(modelThreshold)})
                    </button>
                  )}
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
              <div className="charts">
                <div>
                  <h3>Scores of good and defective images</h3>
                  <ScoreHistogram bins={histogram(scores, labels)} threshold={threshold} />
                </div>
                <div>
                  <h3>ROC curve</h3>
                  {st.metrics.roc.length > 0 ? <RocChart roc={st.metrics.roc} at={rocAt} /> : <p className="muted">Needs both good and defective images.</p>}
                </div>
              </div>
            </section>
          )}

          {st.items.length > 0 && (
            <section className="card">
              <h2>Images</h2>
              <div className="table-wrap">
                <table className="results" data-testid="eval-table">
                  <thead>
                    <tr>
                      <th>Image</th>
                      <th>Label</th>
                      <th>Score</th>
                      <th>At threshold</th>
                    </tr>
                  </thead>
                  <tbody>
                    {st.items.map((it) => {
                      const flagged = threshold !== null && it.score !== undefined && Number.isFinite(it.score) ? it.score >= threshold : null;
                      const right = flagged === null ? null : flagged === (it.label === 1);
                      return (
                        <tr key={it.id}>
                          <td className="ellipsis">
                            {it.name}
                            {it.mask ? ' · mask' : ''}
                            {it.error && <div className="error-text small">{it.error}</div>}
                          </td>
                          <td>
                            <select value={it.label} onChange={(e) => void st.setLabel(it.id, Number(e.target.value) as 0 | 1)} aria-label={`Label of ${it.name}`} disabled={st.running}>
                              <option value={0}>good</option>
                              <option value={1}>defect{it.category !== 'good' && it.category !== 'defect' ? ` (${it.category})` : ''}</option>
                            </select>
                          </td>
                          <td className="num">{formatScore(it.score)}</td>
                          <td>{right === null ? '' : <span className={`verdict ${right ? 'ok' : 'defect'}`}>{flagged ? 'DEFECT' : 'OK'}{right ? ' ✓' : ' ✗'}</span>}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            </section>
          )}
        </>
      )}
    </div>
  );
}
