import { CartesianGrid, Legend, Line, LineChart, ReferenceDot, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { VersionResult } from '../../../core/inspection';

const COLOURS = ['#f59e0b', '#60a5fa'];

/** Both versions' ROC curves on one set, each with a dot where its own threshold sits. */
export function CompareChart({ results }: { results: VersionResult[] }) {
  return (
    <div
      className="chart"
      role="img"
      aria-label={`ROC curves of ${results.map((r) => `v${r.version}`).join(' and ')} on the same labelled set, each with a dot at its own threshold`}
      data-testid="compare-chart"
    >
      <ResponsiveContainer width="100%" height={240}>
        <LineChart margin={{ top: 8, right: 16, bottom: 16, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#334" />
          <XAxis dataKey="fpr" type="number" domain={[0, 1]} tick={{ fontSize: 11 }} label={{ value: 'false-alarm rate', position: 'insideBottom', offset: -8, fontSize: 11 }} />
          <YAxis dataKey="tpr" type="number" domain={[0, 1]} tick={{ fontSize: 11 }} width={40} label={{ value: 'defects found', angle: -90, position: 'insideLeft', fontSize: 11 }} />
          <Tooltip formatter={(v) => (typeof v === 'number' ? v.toFixed(3) : String(v))} />
          <Legend verticalAlign="top" height={24} formatter={(value) => <span style={{ color: 'var(--text)' }}>{value}</span>} />
          {results.map((r, i) => (
            <Line
              key={r.version}
              name={`v${r.version}`}
              data={r.report.roc.fpr.map((fpr, k) => ({ fpr, tpr: r.report.roc.tpr[k] }))}
              dataKey="tpr"
              type="stepAfter"
              stroke={COLOURS[i % COLOURS.length]}
              strokeDasharray={i === 1 ? '6 3' : undefined}
              dot={false}
              isAnimationActive={false}
            />
          ))}
          {results.map((r, i) =>
            r.report.atThreshold ? (
              <ReferenceDot key={`at-${r.version}`} x={r.report.atThreshold.falseAlarmRate || 0} y={Number.isNaN(r.report.atThreshold.recall) ? 0 : r.report.atThreshold.recall} r={5} fill={COLOURS[i % COLOURS.length]} stroke="#fff" />
            ) : null,
          )}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
