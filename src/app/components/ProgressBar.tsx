import { formatSeconds } from '../lib/format';

interface Props {
  label: string;
  done: number;
  total: number;
  etaSeconds?: number;
  detail?: string;
  onCancel?: () => void;
}

export function ProgressBar({ label, done, total, etaSeconds, detail, onCancel }: Props) {
  const pct = total > 0 ? Math.min(100, (100 * done) / total) : 0;
  return (
    <div className="progress" role="group" aria-label={label}>
      <div className="progress-head">
        <span>{label}</span>
        <span className="muted">
          {total > 0 ? `${Math.round(pct)} %` : ''}
          {etaSeconds !== undefined && Number.isFinite(etaSeconds) && done < total ? ` · about ${formatSeconds(etaSeconds)} left` : ''}
          {detail ? ` · ${detail}` : ''}
        </span>
      </div>
      <div className="progress-track">
        <progress max={100} value={pct} aria-label={label} />
      </div>
      {onCancel && (
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      )}
    </div>
  );
}
