import type { BackboneId } from '../../../core';
import { LossChart } from '../../components/LossChart';
import { ProgressBar } from '../../components/ProgressBar';
import { SettingsForm } from '../../components/SettingsForm';
import { heldOutCount } from '../../../core/inspection';
import { featureBankCost } from '../../../core/train/bankCost';
import { tapsLabel } from '../../lib/backbones';
import { formatBytes, formatSeconds } from '../../lib/format';
// The settings module is free of TF.js, so the UI bundle does not pull TF.js in for this.
import { BACKBONE_TAPS } from '../../../core/model/settings';
import type { ModelRecord } from '../../persistence/models';
import { useEngine } from '../../stores/engine';
import { useModels } from '../../stores/models';
import { reportError } from '../../stores/notices';
import { useTeach } from '../../stores/teach';

const PHASE_LABEL = { features: 'Computing features of the good images', flow: 'Training the normalizing flow', calibrate: 'Setting the threshold on the held-out good images' } as const;

export function TrainPanel({ record }: { record: ModelRecord }) {
  const presets = useEngine((s) => s.presets)!;
  const hasWeights = useEngine((s) => !!s.weights[record.backbone]);
  const update = useModels((s) => s.update);
  const { images, job, train, cancel } = useTeach();
  const busy = job !== null;
  const held = heldOutCount(images.length);
  const t = record.training;
  // The last run's rate of copies through the CNN on this machine, for a time estimate.
  const rate = t && t.featureSeconds > 0 ? (t.images * Math.max(record.settings.train.copies, record.settings.train.transforms)) / t.featureSeconds : undefined;
  const bank = featureBankCost(record.settings, images.length - held, record.backbone, rate);
  const calibrationCopies = held * (record.settings.train.rotate ? record.settings.testTransforms : 1);
  const save = (patch: Parameters<typeof update>[1]) => update(record.id, patch).catch((e) => reportError(e, 'Settings not saved'));
  return (
    <section className="card" aria-labelledby="train-title">
      <h2 id="train-title">2 · Train</h2>
      <div className="row wrap">
        <label className="field">
          <span>Backbone</span>
          <select value={record.backbone} disabled={busy} onChange={(e) => void save({ backbone: e.target.value as BackboneId })} data-testid="teach-backbone">
            <option value="googlenet">GoogLeNet</option>
            <option value="alexnet">AlexNet</option>
            <option value="squeezenet1_1">SqueezeNet 1.1</option>
          </select>
        </label>
      </div>
      <details data-testid="settings-details">
        <summary>
          Settings: {record.settings.features.size} px, {record.settings.features.scales} scale{record.settings.features.scales === 1 ? '' : 's'}
          {/* GoogLeNet's mid-level taps are what set it apart; the others pool their last layer unless told. */}
          {record.settings.features.taps || record.backbone === 'googlenet' ? `, ${tapsLabel(record.settings.features.taps ?? BACKBONE_TAPS[record.backbone])}` : ''}, {record.settings.train.epochs}×{record.settings.train.subEpochs} passes, flow {record.settings.flow.blocks}×{record.settings.flow.hidden}{record.settings.flow.whitening === undefined ? '' : record.settings.flow.power === undefined ? ' on whitened features' : ` on whitened features to the power ${record.settings.flow.power}`}, {record.settings.train.rotate ? `${record.settings.testTransforms} test rotations` : 'no rotations'}
        </summary>
        <SettingsForm settings={record.settings} presets={presets} backbone={record.backbone} onChange={(settings) => void save({ settings })} disabled={busy} />
      </details>
      <p className="small muted" data-testid="holdout-plan">
        {images.length > 0 && heldOutCount(images.length) > 0
          ? `${images.length} good images: the flow trains on ${images.length - heldOutCount(images.length)}; ${heldOutCount(images.length)} chosen at random are held out and set the threshold, scored exactly as inspection will score new parts.`
          : images.length > 0
            ? `${images.length} good images are too few to hold any out: the threshold will come from the training images themselves and will flag more good parts than it says. Add at least 5.`
            : null}
      </p>
      {images.length > 0 && !job && (
        <p className="small muted" data-testid="train-cost">
          Before training: {bank.rows.toLocaleString()} image copies through the CNN ({record.settings.train.rotate ? `${Math.max(record.settings.train.copies, record.settings.train.transforms)} angles per image, ${record.settings.train.transforms} drawn afresh each step` : 'one per image'}), a feature bank of {formatBytes(bank.bytes)}, plus{' '}
          {calibrationCopies.toLocaleString()} for the threshold
          {bank.seconds !== null && rate ? `; about ${formatSeconds(bank.seconds + calibrationCopies / rate)} of features at the last run's speed, then the flow` : ''}.
        </p>
      )}
      {job ? (
        <div className="train-progress" data-testid="train-progress">
          <ProgressBar label={PHASE_LABEL[job.phase]} done={job.done} total={job.total} etaSeconds={job.etaSeconds} onCancel={cancel} />
          {job.losses.length > 0 && (
            <>
              <p className="small muted" data-testid="train-loss">
                loss {job.losses[job.losses.length - 1].loss.toFixed(4)} at step {job.losses[job.losses.length - 1].step}
              </p>
              <LossChart losses={job.losses} />
            </>
          )}
        </div>
      ) : (
        <div className="row">
          <button type="button" className="primary" onClick={() => void train()} disabled={images.length === 0 || !hasWeights} data-testid="train-button">
            {record.version > 0 ? `Retrain (version ${record.version + 1})` : 'Train'}
          </button>
          {!hasWeights && <span className="muted small">Load the backbone weights first.</span>}
          {record.training && (
            <span
              className="muted small"
              data-testid="training-summary"
              data-feature-seconds={record.training.featureSeconds}
              data-flow-seconds={record.training.flowSeconds}
              data-calibration-seconds={record.training.calibrationSeconds ?? ''}
            >
              Last trained on {record.training.images} images{record.training.heldOut ? ` (${record.training.heldOut} held out)` : ''} in{' '}
              {formatSeconds(record.training.totalSeconds ?? record.training.featureSeconds + record.training.flowSeconds)} ({record.training.backend}; features{' '}
              {formatSeconds(record.training.featureSeconds)}, flow {formatSeconds(record.training.flowSeconds)}
              {record.training.calibrationSeconds !== undefined ? `, threshold ${formatSeconds(record.training.calibrationSeconds)}` : ''}); final loss{' '}
              {record.training.losses[record.training.losses.length - 1]?.toFixed(3)}
            </span>
          )}
        </div>
      )}
      {!job && record.training && record.training.losses.length > 1 && (
        <details data-testid="loss-history">
          <summary>Loss of the last training, per pass over the images</summary>
          <LossChart losses={record.training.losses.map((loss, i) => ({ step: i + 1, loss }))} xLabel="pass" />
        </details>
      )}
    </section>
  );
}
