import { DEFAULT_FALSE_ALARM_RATE, describeCalibration, singleImageThresholdNote, DISPLAY_THRESHOLD, formatDisplayScore, formatRawScore, framesNeeded, heldOutNeeded, HOLDOUT_FRACTION, judge, MAX_HELD_OUT, MIN_IMAGES_FOR_HOLDOUT } from '../../../core/inspection';
import { Legend } from '../../components/Legend';
import { SHORTCUTS } from '../../components/Onboarding';
import { formatScore } from '../../lib/format';
import { useEngine } from '../../stores/engine';
import { useModels } from '../../stores/models';
import { useOnboarding } from '../../stores/onboarding';
import '../report/report.css';
import './help.css';

const pct = (r: number) => `${Math.round(r * 100)} %`;

/** Raw scores of the active model at a few points of its own scale, with what the app shows for each. */
function ScaleTable({ cal }: { cal: NonNullable<ReturnType<typeof useModels.getState>['records'][number]['calibration']> }) {
  const points = [
    { label: 'lowest held-out good image', raw: cal.good.min },
    { label: 'middle held-out good image', raw: cal.good.median },
    { label: 'highest held-out good image', raw: cal.good.max },
    { label: 'the threshold', raw: cal.threshold },
    { label: 'ten times the threshold', raw: cal.threshold * 10 },
  ].sort((a, b) => a.raw - b.raw);
  return (
    <table className="report-table help-scale" data-testid="help-scale">
      <caption className="small muted">Your active model's numbers</caption>
      <thead>
        <tr>
          <th scope="col">Image</th>
          <th scope="col">Raw score</th>
          <th scope="col">Shown score</th>
          <th scope="col">Verdict</th>
        </tr>
      </thead>
      <tbody>
        {points.map((p) => {
          const j = judge(p.raw, cal);
          return (
            <tr key={p.label}>
              <td>{p.label}</td>
              <td>{formatRawScore(p.raw)}</td>
              <td>{formatDisplayScore(j.display, j.verdict)}</td>
              <td>{j.verdict === 'defect' ? 'DEFECT' : 'OK'}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function HelpScreen() {
  const record = useModels((s) => s.records.find((r) => r.id === s.activeId) ?? null);
  const palette = useEngine((s) => s.palette);
  const showGuide = useOnboarding((s) => s.showGuide);
  const setShortcuts = useOnboarding((s) => s.setShortcuts);
  const cal = record?.calibration ?? null;
  const need = heldOutNeeded(DEFAULT_FALSE_ALARM_RATE);
  return (
    <div className="screen help" data-testid="help-screen">
      <h1>Help</h1>
      <div className="row wrap">
        <button
          type="button"
          onClick={() => {
            showGuide();
            location.hash = '#/teach';
          }}
          data-testid="help-show-guide"
        >
          Show the getting-started guide
        </button>
        <button type="button" className="secondary" onClick={() => setShortcuts(true)} data-testid="help-shortcuts">
          Keyboard shortcuts (?)
        </button>
      </div>
      <section className="card" aria-labelledby="help-score">
        <h2 id="help-score">The score</h2>
        <p>
          The model learnt what good parts look like, only from photos of good parts. For a new photo it measures how unusual the part looks to it: that is the score. It never saw a defect, so
          it flags anything unusual, including a dirty lens or a part placed differently from the training photos.
        </p>
        <p>
          The score you see runs from <strong>0 to 1</strong>. The threshold is always at <strong>{DISPLAY_THRESHOLD}</strong>: {DISPLAY_THRESHOLD} and above is DEFECT. A typical good part (the
          middle of the held-out good photos) shows 0.25. The scale is fixed per model, so the same photo always shows the same number for the same model; scores of two models are not
          comparable.
        </p>
        <p>
          Behind it is DifferNet's <strong>raw score</strong> (the mean of z², unbounded: from about 1 to 10¹² on the MTD tiles). Every export gives it too, as <code>rawScore</code> beside{' '}
          <code>rawThreshold</code>, so a line of a CSV never mixes the two scales.
        </p>
        {cal ? <ScaleTable cal={cal} /> : <p className="small muted">Train a model to see its raw scores beside the ones shown.</p>}
        {cal && singleImageThresholdNote(cal) && <p className="small muted">{singleImageThresholdNote(cal)}</p>}
      </section>
      <section className="card" aria-labelledby="help-threshold">
        <h2 id="help-threshold">The threshold</h2>
        <p>
          Training keeps {pct(HOLDOUT_FRACTION)} of the good photos aside (at most {MAX_HELD_OUT}; none with fewer than {MIN_IMAGES_FOR_HOLDOUT} photos). The model never trains on them, so they score like new
          good parts. The threshold is placed among their scores so that at most the false-alarm rate you accept (default {pct(DEFAULT_FALSE_ALARM_RATE)}) of good parts would be flagged.
        </p>
        <p>
          That promise needs enough held-out photos: {need} for {pct(DEFAULT_FALSE_ALARM_RATE)}, so teach with {framesNeeded(DEFAULT_FALSE_ALARM_RATE)} or more. With fewer, the threshold sits
          above all of them and the app says which rate they do support. It holds while new good parts are like the taught ones; the drift check on Inspect and Live says when they no longer are.
        </p>
        {cal && record && (
          <p data-testid="help-model-threshold">
            <strong>{record.name}</strong>: {describeCalibration(cal)}. Raw threshold {formatRawScore(cal.threshold)}.
          </p>
        )}
      </section>
      <section className="card" aria-labelledby="help-heatmap">
        <h2 id="help-heatmap">The heatmap</h2>
        <p>
          The heatmap shows where the part looks unusual: how strongly each pixel would have to change to make the part look good to the model. It is clear wherever the photo looks like the
          held-out good photos (up to their 99th percentile pixel). The lower half of the colours covers the range good photos reach; the upper half runs, on a log scale, up to the photo's own
          strongest spot, so a large defect shows where it is strongest instead of turning the whole photo yellow. The outline traces what lies beyond every good pixel.
        </p>
        {cal && palette ? (
          <>
            <Legend scale={{ low: cal.mapLow, high: cal.mapHigh }} palette={palette} />
            <p className="small muted">
              {record?.name}: clear up to {formatScore(cal.mapLow)}, the top of good at {formatScore(cal.mapHigh)} (the map's own units).
            </p>
          </>
        ) : null}
        <p className="small muted">A DEFECT with a faint heatmap is an unusual photo as a whole (light, focus, framing), rather than a local flaw.</p>
      </section>
      <section className="card" aria-labelledby="help-keys">
        <h2 id="help-keys">Keyboard</h2>
        <ul>
          {SHORTCUTS.map((s) => (
            <li key={`${s.where}-${s.keys.join()}`}>
              {s.keys.map((k, i) => (
                <span key={k}>
                  {i > 0 && ' or '}
                  <kbd>{k}</kbd>
                </span>
              ))}{' '}
              ({s.where}): {s.what}
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}
