import { useState } from 'react';
import type { ThresholdMethod } from '../../../core';
import { Legend } from '../../components/Legend';
import { formatScore } from '../../lib/format';
import type { ModelRecord } from '../../persistence/models';
import { useEngine } from '../../stores/engine';
import { useTeach } from '../../stores/teach';

function describe(m: ThresholdMethod): string {
  switch (m.kind) {
    case 'percentile':
      return `${m.percentile}th percentile of the good images' scores`;
    case 'false-alarm-rate':
      return `${(m.rate * 100).toFixed(1)} % target false-alarm rate on good images`;
    case 'f1-max':
      return 'best F1 on a labelled set';
    case 'manual':
      return 'set by hand in Evaluate';
  }
}

export function CalibrationPanel({ record }: { record: ModelRecord }) {
  const cal = record.calibration!;
  const palette = useEngine((s) => s.palette);
  const applyMethod = useTeach((s) => s.applyMethod);
  const busy = useTeach((s) => s.job !== null);
  const [kind, setKind] = useState<'percentile' | 'false-alarm-rate'>(cal.method.kind === 'false-alarm-rate' ? 'false-alarm-rate' : 'percentile');
  const [percentile, setPercentile] = useState(cal.method.kind === 'percentile' ? cal.method.percentile : 99);
  const [rate, setRate] = useState(cal.method.kind === 'false-alarm-rate' ? cal.method.rate * 100 : 1);
  const canRecalibrate = !!record.goodScores && record.goodScores.length > 0;
  return (
    <section className="card" aria-labelledby="cal-title" data-testid="calibration">
      <h2 id="cal-title">3 · Calibrate</h2>
      <p>
        Threshold <strong data-testid="threshold">{formatScore(cal.threshold)}</strong>: {describe(cal.method)}. Good images scored {formatScore(cal.good.min)}–{formatScore(cal.good.max)} (mean{' '}
        {formatScore(cal.good.mean)}, n = {cal.good.n}).
      </p>
      <p className="small muted">
        The good images were also the training images, so their scores are optimistic. For a dependable threshold, set it on held-out or labelled images in Evaluate.
      </p>
      <form
        className="row wrap"
        onSubmit={(e) => {
          e.preventDefault();
          void applyMethod(kind === 'percentile' ? { kind, percentile } : { kind, rate: rate / 100 });
        }}
      >
        <fieldset className="row wrap" disabled={!canRecalibrate || busy}>
          <legend className="small">Threshold from the good images</legend>
          <label>
            <input type="radio" name="method" checked={kind === 'percentile'} onChange={() => setKind('percentile')} /> percentile{' '}
            <input type="number" min={50} max={100} step={0.5} value={percentile} onChange={(e) => setPercentile(Number(e.target.value))} aria-label="Percentile" className="narrow" />
          </label>
          <label>
            <input type="radio" name="method" checked={kind === 'false-alarm-rate'} onChange={() => setKind('false-alarm-rate')} /> false-alarm rate{' '}
            <input type="number" min={0.1} max={50} step={0.1} value={rate} onChange={(e) => setRate(Number(e.target.value))} aria-label="False-alarm rate in percent" className="narrow" /> %
          </label>
          <button type="submit">Apply</button>
        </fieldset>
      </form>
      {palette && (
        <div>
          <span className="small muted">Heatmap colour scale (fixed for this model): </span>
          <Legend scale={{ low: cal.mapLow, high: cal.mapHigh }} palette={palette} />
        </div>
      )}
    </section>
  );
}
