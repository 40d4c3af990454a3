// "This part is good" / "This is a defect" under a verdict, and after a part is marked good, the offer to
// recalibrate now or retrain. The same control in Inspect, Evaluate's detail view and Live.
import { useState } from 'react';
import { formatRawScore } from '../../core/inspection';
import { useLearn, type MarkTarget } from '../stores/learn';
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
  // What this image was just marked, so the person sees the click took (the verdict itself stays as given).
  const [marked, setMarked] = useState<{ key: string; as: string } | null>(null);
  const key = target ? `${target.modelId}:${target.name}` : '';
  const mark = async (as: 'good' | 'a defect') => {
    if (!target) return;
    if (await (as === 'good' ? markGood(target) : markDefect(target))) setMarked({ key, as });
  };
  const disabled = !target;
  const of = label ? ` (${label})` : '';
  return (
    <div className="mark-wrong" data-testid="mark-wrong">
      <div className="row wrap" role="group" aria-label={`Mark this verdict wrong${of}`}>
        <span className="small muted">Verdict wrong?</span>
        <button type="button" className="secondary" disabled={disabled} onClick={() => void mark('good')} data-testid="mark-good" title="Adds the image to the model's good images, then offers to recalibrate or retrain">
          This part is good
        </button>
        <button type="button" className="secondary" disabled={disabled} onClick={() => void mark('a defect')} data-testid="mark-defect" title="Files the image in the model's labelled defect set (Versions screen, Evaluate)">
          This is a defect
        </button>
        <span className="small" role="status" data-testid="marked">
          {marked && marked.key === key ? `Marked ${marked.as}` : ''}
        </span>
      </div>
      {offer && target && offer.modelId === target.modelId && <LearnOffer modelId={offer.modelId} />}
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
  return (
    <div className="learn-offer" role="region" aria-label="Learn from the marked parts" data-testid="learn-offer">
      {waiting.length === 0 ? (
        <p className="small">
          No part marked good is waiting for the threshold of "{record.name}" v{record.version}
          {cal ? ` (raw threshold ${formatRawScore(cal.threshold)})` : ''}: mark a wrong verdict good in Inspect, Evaluate or Live first. <em>Retrain</em> makes v{next} from all good images, in
          minutes (v{record.version} stays saved).
        </p>
      ) : (
        <p className="small">
          <strong>{waiting.length}</strong> part{waiting.length === 1 ? '' : 's'} marked good that the threshold of "{record.name}" v{record.version} does not include yet
          {cal ? ` (raw threshold ${formatRawScore(cal.threshold)})` : ''}. <em>Recalibrate now</em> re-sets the threshold from the held-out images plus these, with the current flow, in seconds;{' '}
          <em>Retrain</em> makes v{next} from all good images, in minutes (v{record.version} stays saved). Parts marked after a false alarm are the unusual ones, so they raise the threshold
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
