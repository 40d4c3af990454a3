import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ReferenceDot, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { RocPoint } from '../../../worker/protocol';
import { formatRawScore, type LogBin } from '../../../core/inspection';

export function RocChart({ roc, at }: { roc: RocPoint[]; at: { fpr: number; tpr: number } | null }) {
  return (
    <div className="chart" role="img" aria-label="ROC curve" data-testid="roc-chart">
      <ResponsiveContainer width="100%" height={260}>
        <LineChart data={roc} margin={{ top: 8, right: 16, bottom: 16, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#334" />
          <XAxis dataKey="fpr" type="number" domain={[0, 1]} tick={{ fontSize: 11 }} label={{ value: 'false-alarm rate', position: 'insideBottom', offset: -8, fontSize: 11 }} />
          <YAxis dataKey="tpr" type="number" domain={[0, 1]} tick={{ fontSize: 11 }} width={40} label={{ value: 'defects found', angle: -90, position: 'insideLeft', fontSize: 11 }} />
          <Tooltip formatter={(v) => (typeof v === 'number' ? v.toFixed(3) : String(v))} />
          <ReferenceLine segment={[{ x: 0, y: 0 }, { x: 1, y: 1 }]} stroke="#556" strokeDasharray="4 4" />
          <Line type="stepAfter" dataKey="tpr" stroke="#f59e0b" dot={false} isAnimationActive={false} />
          {at && <ReferenceDot x={at.fpr} y={at.tpr} r={5} fill="#60a5fa" stroke="#fff" />}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}

/** Good and defective scores on a log axis: raw scores span many decades (1 to 1e12 on MTD). */
export function ScoreHistogram({ bins, threshold }: { bins: LogBin[]; threshold: number | null }) {
  const data = bins.map((b) => ({ mid: (Math.log10(b.x0) + Math.log10(b.x1)) / 2, good: b.good, defect: b.defect }));
  const width = bins.length ? Math.log10(bins[0].x1) - Math.log10(bins[0].x0) : 1;
  const lo = bins.length ? Math.log10(bins[0].x0) : 0;
  const hi = bins.length ? Math.log10(bins[bins.length - 1].x1) : 1;
  const t = threshold !== null && threshold > 0 ? Math.min(hi, Math.max(lo, Math.log10(threshold))) : null;
  return (
    <div className="chart" role="img" aria-label="Score histograms of good and defective images on a log scale, with the threshold" data-testid="histogram">
      <ResponsiveContainer width="100%" height={260}>
        <BarChart data={data} margin={{ top: 8, right: 16, bottom: 16, left: 0 }} barGap={0} barCategoryGap={0}>
          <CartesianGrid strokeDasharray="3 3" stroke="#334" />
          <XAxis
            dataKey="mid"
            type="number"
            domain={[lo - width / 2, hi + width / 2]}
            tick={{ fontSize: 11 }}
            tickFormatter={(v: number) => formatRawScore(10 ** v)}
            label={{ value: 'raw anomaly score (log scale)', position: 'insideBottom', offset: -8, fontSize: 11 }}
          />
          <YAxis allowDecimals={false} tick={{ fontSize: 11 }} width={32} />
          <Tooltip formatter={(v) => String(v)} labelFormatter={(v) => `score ≈ ${formatRawScore(10 ** Number(v))}`} />
          {/* Series names in the text colour: the green of "good" is too dim as text (4.46:1). */}
          <Legend verticalAlign="top" height={24} formatter={(value) => <span style={{ color: 'var(--text)' }}>{value}</span>} />
          <Bar dataKey="good" fill="#22c55e" fillOpacity={0.75} isAnimationActive={false} />
          <Bar dataKey="defect" fill="#ef4444" fillOpacity={0.75} isAnimationActive={false} />
          {t !== null && <ReferenceLine x={t} stroke="#60a5fa" strokeWidth={2} label={{ value: 'threshold', fill: '#60a5fa', fontSize: 11, position: 'insideTopRight' }} />}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
