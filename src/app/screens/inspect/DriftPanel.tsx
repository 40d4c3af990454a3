import { useEffect, useRef, useState } from 'react';
import { driftCheck, type DriftReport } from '../../../core/inspection';
import type { ModelRecord } from '../../persistence/models';
import { recentVerdicts, useHistory } from '../../stores/history';

/**
 * The history's write counter, passed on at most once per `ms`: Live saves verdicts a few times a second,
 * and the check reads up to 200 records from IndexedDB each time it runs. A throttle, not a debounce: a
 * new write while one is pending leaves its timer alone, so a running camera still refreshes the card.
 */
function useThrottled(value: number, ms: number): number {
  const [shown, setShown] = useState(value);
  const latest = useRef(value);
  useEffect(() => {
    latest.current = value;
  });
  const behind = value !== shown;
  useEffect(() => {
    if (!behind) return;
    if (ms <= 0) return void setShown(latest.current);
    const t = setTimeout(() => setShown(latest.current), ms);
    return () => clearTimeout(t);
  }, [behind, shown, ms]);
  return ms <= 0 ? value : shown;
}

/** The drift check of the active model, from its recent verdicts in the history; refreshed as verdicts are saved. */
export function DriftPanel({ record, refreshMs = 0 }: { record: ModelRecord; refreshMs?: number }) {
  const writes = useThrottled(
    useHistory((s) => s.writes),
    refreshMs,
  );
  const cal = record.calibration;
  const [report, setReport] = useState<DriftReport | null>(null);
  useEffect(() => {
    if (!cal) return;
    let live = true;
    recentVerdicts(record, cal.threshold)
      .then((recent) => live && setReport(driftCheck(cal, recent)))
      // The check is advice: without the history there is simply none.
      .catch(() => live && setReport(null));
    return () => {
      live = false;
    };
  }, [record, cal, writes]);
  if (!cal || !report) return null;
  const cls = report.status === 'drift' ? 'error-list' : report.status === 'watch' ? 'warning-text card' : 'small muted';
  return (
    <div className={cls} role="status" data-testid="drift" data-status={report.status}>
      <strong className="drift-headline" data-testid="drift-headline">
        {report.headline}
      </strong>{' '}
      {report.message}
      {(report.status === 'drift' || report.status === 'watch') && (
        <>
          {' '}
          <a href="#/teach">Recalibrate on the Teach screen</a>.
        </>
      )}
      <span className="small muted">
        {' '}
        The test: one-sided binomial tests at 1 % of the confirmed false alarms and of all flagged parts against the calibration's promise, and of passed scores above the middle held-out score. Good parts: those passed and not
        corrected, and flagged ones a person marked good (History).
      </span>
    </div>
  );
}
