import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

interface Props {
  losses: { step: number; loss: number }[];
  xLabel?: string;
}

/** Live training loss (negative log-likelihood per dimension); it should fall and level off. */
export function LossChart({ losses, xLabel = 'step' }: Props) {
  const data = losses.length > 400 ? losses.filter((_, i) => i % Math.ceil(losses.length / 400) === 0) : losses;
  return (
    <div className="chart" aria-label={`Training loss by ${xLabel}`} role="img" data-testid="loss-chart">
      <ResponsiveContainer width="100%" height={180}>
        <LineChart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#334" />
          <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} tick={{ fontSize: 11 }} label={{ value: xLabel, position: 'insideBottomRight', offset: -4, fontSize: 11 }} />
          <YAxis tick={{ fontSize: 11 }} width={48} domain={['auto', 'auto']} tickFormatter={(v: number) => v.toFixed(2)} />
          <Tooltip formatter={(v) => (typeof v === 'number' ? v.toFixed(4) : String(v))} />
          <Line type="monotone" dataKey="loss" stroke="#f59e0b" dot={false} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
