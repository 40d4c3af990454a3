import { useState } from 'react';
import { describeCalibration, conformalThreshold, formatRawScore, singleImageThresholdNote } from '../../../core/inspection';
import { Legend } from '../../components/Legend';
import type { ModelRecord } from '../../persistence/models';
import { useEngine } from '../../stores/engine';
import { useTeach } from '../../stores/teach';

const pct = (r: number) => `${(r * 100).toFixed(r < 0.01 ? 2 : 1)} %`;

export function CalibrationPanel({ record }: { record: ModelRecord }) {
  const cal = record.calibration!;
  const palette = useEngine((s) => s.palette);
  const applyMethod = useTeach((s) => s.applyMethod);
  const busy = useTeach((s) => s.job !== null);
  const [rate, setRate] = useState(cal.method.kind === 'false-alarm-rate' ? +(cal.method.rate * 100).toFixed(2) : 5);
  const n = cal.goodScores.length;
  const canRecalibrate = n > 0;
  // What the typed rate would give, before it is applied.
  const preview = canRecalibrate && rate > 0 && rate < 100 ? conformalThreshold(cal.goodScores, rate / 100) : null;
  const heldOut = cal.source === 'held-out';
  return (
    <section className="card" aria-labelledby="cal-title" data-testid="calibration">
      <h2 id="cal-title">3 · Threshold</h2>
      <p data-testid="calibration-text">
        {heldOut ? (
          <>
            Set on <strong data-testid="held-out-count">{cal.good.n}</strong> good images the model never trained on:{' '}
          </>
        ) : null}
        {describeCalibration(cal)}.
      </p>
      {cal.guarantee && !cal.guarantee.supported && (
        <p className="warning-text" role="status" data-testid="calibration-warning">
          Too few held-out images for {pct(cal.guarantee.requested)}: {cal.good.n} images support {pct(cal.guarantee.minRate)} or more. Add good images and retrain for a lower rate.
        </p>
      )}
      {singleImageThresholdNote(cal) && (
        <p className="warning-text" role="status" data-testid="single-image-threshold">
          {singleImageThresholdNote(cal)}
        </p>
      )}
      {cal.source === 'training' && (
        <p className="warning-text" role="status">
          This threshold comes from the training images, which score lower than new good parts: expect more false alarms than it says. Retrain with 5 or more good images so some can be held out.
        </p>
      )}
      <p className="small muted">
        Scores shown in the app run from 0 to 1; the threshold is at 0.5. Raw DifferNet threshold <span data-testid="threshold">{formatRawScore(cal.threshold)}</span>; held-out good images scored {formatRawScore(cal.good.min)}–{formatRawScore(cal.good.max)} (median {formatRawScore(cal.good.median)}).
      </p>
      <form
        className="row wrap"
        onSubmit={(e) => {
          e.preventDefault();
          void applyMethod({ kind: 'false-alarm-rate', rate: rate / 100 });
        }}
      >
        <fieldset className="row wrap" disabled={!canRecalibrate || busy}>
          <legend className="small">False alarms you accept on good parts</legend>
          <label>
            <input type="number" min={0.1} max={50} step={0.1} value={rate} onChange={(e) => setRate(Number(e.target.value))} aria-label="False alarms you accept, in percent" className="narrow" data-testid="false-alarm-input" /> %
          </label>
          <button type="submit">Apply</button>
          {preview && (
            <span className="small muted" data-testid="rate-preview">
              {preview.guarantee.supported ? `promises at most ${pct(preview.guarantee.bound)}` : `not supported by ${n} images: at best ${pct(preview.guarantee.minRate)}`}
            </span>
          )}
        </fieldset>
        {!canRecalibrate && <span className="small muted">This model was calibrated by an older version and keeps no held-out scores: retrain it to change the rate.</span>}
      </form>
      {palette && (
        <div>
          <span className="small muted">Heatmap colour scale (fixed for this model; above the good range it spreads to each image's peak): </span>
          <Legend scale={{ low: cal.mapLow, high: cal.mapHigh }} palette={palette} />
        </div>
      )}
    </section>
  );
}
