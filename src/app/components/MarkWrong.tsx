// "This part is good" / "This is a defect" under a verdict, and after a part is marked good, the offer to
// recalibrate now or retrain. The same control in Inspect, Evaluate's detail view and Live.
import { useState } from 'react';
import { formatRawScore, versionLabel } from '../../core/inspection';
import { markKey, useLearn, type MarkTarget } from '../stores/learn';
import { useModels } from '../stores/models';
import { useTeach } from '../stores/teach';
import { ProgressBar } from './ProgressBar';

interface Props {
  /** The image and model; null while there is nothing to mark (no model, image not scored). */
  target: MarkTarget | null;
  /** Names the buttons for screen readers when several are on the page. */
  label?: string;
}

export function MarkWrong({ target, label }: Props) {
  const markGood = useLearn((s) => s.markGood);
  const markDefect = useLearn((s) => s.markDefect);
  const offer = useLearn((s) => s.offer);
  const marked = useLearn((s) => (target ? s.marks[markKey(target.modelId, target.name)] : undefined));
  const pending = useLearn((s) => (target ? (s.pending[target.modelId]?.length ?? 0) : 0));
  const busy = useLearn((s) => !!target && s.job?.modelId === target.modelId);
  const training = useTeach((s) => !!target && s.job?.modelId === target.modelId);
  // One click at a time: a second click while the first is stored would race it.
  const [working, setWorking] = useState(false);
  const mark = async (as: 'good' | 'defect') => {
    if (!target || working) return;
    setWorking(true);
    try {
      await (as === 'good' ? markGood(target) : markDefect(target));
    } finally {
      setWorking(false);
    }
  };
  const disabled = !target || working;
  const of = label ? ` (${label})` : '';
  return (
    <div className="mark-wrong" data-testid="mark-wrong">
      {/* Worded for both cases: a mark that agrees with the verdict confirms it, one that does not corrects it. */}
      <div className="row wrap" role="group" aria-label={`Label this part for the model${of}`}>
        <span className="small muted">Label this part:</span>
        {marked === 'good' ? (
          <span className="small ok-text" data-testid="marked">
            ✓ Marked good
          </span>
        ) : (
          <button type="button" className="secondary" disabled={disabled} onClick={() => void mark('good')} data-testid="mark-good" title="Adds the image to the model's good images (out of its defect set if it was filed there), then offers to recalibrate or retrain">
            {marked === 'defect' ? 'No, it is good' : 'This part is good'}
          </button>
        )}
        {marked === 'defect' ? (
          <span className="small ok-text" data-testid="marked">
            ✓ Filed as a defect
          </span>
        ) : (
          <button type="button" className="secondary" disabled={disabled} onClick={() => void mark('defect')} data-testid="mark-defect" title="Files the image in the model's labelled defect set (out of its good images if it was there), for the Versions screen and Evaluate">
            {marked === 'good' ? 'No, it is a defect' : 'This is a defect'}
          </button>
        )}
      </div>
      {/* Only while something is waiting for it (or running): an offer with nothing to do is noise. */}
      {offer && target && offer.modelId === target.modelId && (pending > 0 || busy || training) && <LearnOffer modelId={offer.modelId} />}
    </div>
  );
}

/** What a marked-good part makes possible: the threshold again with it (seconds), or a new version (minutes). */
export function LearnOffer({ modelId, dismissable = true }: { modelId: string; dismissable?: boolean }) {
  const record = useModels((s) => s.records.find((r) => r.id === modelId));
  const { job, pending, recalibrate, retrain, cancel, dismissOffer } = useLearn();
  const trainJob = useTeach((s) => s.job);
  const waiting = pending[modelId] ?? [];
  if (!record) return null;
  const training = trainJob?.modelId === modelId;
  const cal = record.calibration;
  const next = Math.max(record.version, record.latestVersion ?? 0) + 1;
  const running = job?.modelId === modelId || training;
  if (waiting.length === 0 && !running) {
    // Nothing to recalibrate with: one line, with Retrain for a new version from the good images as they are.
    return (
      <div className="row wrap" data-testid="learn-offer">
        <span className="small muted" data-testid="learn-offer-none">
          No part marked good is waiting for the threshold of {versionLabel(record.version, cal?.revision)}.
        </span>
        <button type="button" className="secondary" disabled={!!job || !!trainJob} onClick={() => void retrain(modelId)} data-testid="retrain" title={`Makes v${next} from all good images, in minutes (v${record.version} stays saved)`}>
          Retrain as v{next}
        </button>
      </div>
    );
  }
  return (
    <div className="learn-offer" role="region" aria-label="Learn from the marked parts" data-testid="learn-offer">
      {waiting.length === 0 ? null : (
        <p className="small">
          <strong>{waiting.length}</strong> part{waiting.length === 1 ? '' : 's'} marked good that the threshold of "{record.name}" {versionLabel(record.version, cal?.revision)} does not include yet
          {cal ? ` (0.5 on the 0-1 scale = raw ${formatRawScore(cal.threshold)})` : ''}. <em>Recalibrate now</em> re-sets the threshold from the held-out images plus these, with the current flow, in
          seconds; <em>Retrain</em> makes v{next} from all good images, in minutes (v{record.version} stays saved). Parts marked after a false alarm are the unusual ones, so they raise the threshold
          more than random good parts would.
        </p>
      )}
      {job?.modelId === modelId && job.kind === 'recalibrate' ? (
        <ProgressBar label="Recalibrating" done={job.done} total={job.total} detail={`${job.done} of ${job.total} scored`} onCancel={cancel} />
      ) : training && trainJob ? (
        <ProgressBar label={`Retraining (${trainJob.phase})`} done={trainJob.done} total={trainJob.total} etaSeconds={trainJob.etaSeconds} onCancel={cancel} />
      ) : (
        <div className="row wrap">
          {waiting.length > 0 && (
            <button type="button" className="primary" disabled={!cal || !!job} onClick={() => void recalibrate(modelId)} data-testid="recalibrate-now">
              Recalibrate now
            </button>
          )}
          <button type="button" disabled={!!job || !!trainJob} onClick={() => void retrain(modelId)} data-testid="retrain">
            Retrain
          </button>
          {dismissable && (
            <button type="button" className="secondary" onClick={dismissOffer} data-testid="offer-dismiss">
              Later
            </button>
          )}
        </div>
      )}
    </div>
  );
}
