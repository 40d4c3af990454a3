import { useEffect, useState } from 'react';
import { driftCheck, type DriftReport } from '../../../core/inspection';
import type { ModelRecord } from '../../persistence/models';
import { recentVerdicts, useHistory } from '../../stores/history';

/** The drift check of the active model, from its recent verdicts in the history; refreshed as verdicts are saved. */
export function DriftPanel({ record }: { record: ModelRecord }) {
  const writes = useHistory((s) => s.writes);
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
      {report.message}
      {report.status !== 'too-few' && (
        <span className="small muted"> Good parts: those passed and not corrected, and flagged ones a person marked good (History).</span>
      )}
    </div>
  );
}
