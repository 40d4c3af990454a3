import { useEffect, useState } from 'react';
import { CameraCapture } from '../../components/CameraCapture';
import { DropZone } from '../../components/DropZone';
import { WeightsPanel } from '../../components/WeightsPanel';
import { useEngine } from '../../stores/engine';
import { useLearn } from '../../stores/learn';
import { useModels } from '../../stores/models';
import { DEFAULT_FALSE_ALARM_RATE, heldOutCount, versionLabel } from '../../../core/inspection';
import type { BackboneId } from '../../../core';
import type { ModelRecord } from '../../persistence/models';
import { useTeach } from '../../stores/teach';
import { CalibrationPanel } from './CalibrationPanel';
import { defaultBackbone, NewModelForm } from './NewModelForm';
import { Thumbnails } from './Thumbnails';
import { TrainPanel } from './TrainPanel';

export function TeachScreen() {
  const record = useModels((s) => s.records.find((r) => r.id === s.activeId) ?? null);
  const weights = useEngine((s) => s.weights);
  const { images, rejected, adding, addFiles, addBlobs, remove, clear, job } = useTeach();
  const [camera, setCamera] = useState(false);
  const [creating, setCreating] = useState(false);
  const [newBackbone, setNewBackbone] = useState<BackboneId | null>(null);

  if (!record || creating) {
    return (
      <div className="screen">
        <h1>Teach a new inspection model</h1>
        <NewModelForm onDone={() => setCreating(false)} onCancel={record ? () => setCreating(false) : undefined} onBackbone={setNewBackbone} />
        <WeightsPanel need={newBackbone ?? defaultBackbone(weights)} />
      </div>
    );
  }

  const busy = job !== null;
  return (
    <div className="screen" data-testid="teach-screen">
      <div className="row spread">
        <h1>
          Teach “{record.name}”
          {record.version > 0 && <span className="muted small"> · version {record.version}</span>}
        </h1>
        <button type="button" className="secondary" onClick={() => setCreating(true)} disabled={busy}>
          + New model
        </button>
      </div>

      {!weights[record.backbone] && <WeightsPanel need={record.backbone} />}

      <section className="card" aria-labelledby="good-title">
        <h2 id="good-title">1 · Good images</h2>
        <p className="muted small">Only images of parts without defects. Vary lighting and position a little, as in production.</p>
        <div className="row wrap align-start">
          <DropZone
            label="Drop images or whole folders of good parts"
            hint="JPEG, PNG, WebP… Images stay in this browser."
            onFiles={(f) => void addFiles(f)}
            disabled={busy || adding}
            testId="teach-drop"
          />
          <div>
            <button type="button" className="secondary" onClick={() => setCamera((c) => !c)} aria-expanded={camera}>
              {camera ? 'Hide webcam' : 'Capture from webcam…'}
            </button>
            {camera && <CameraCapture onCapture={(items) => void addBlobs(items)} />}
          </div>
        </div>
        {rejected.length > 0 && (
          <div className="error-list" role="alert" data-testid="teach-rejected">
            <strong>
              {rejected.length} file{rejected.length === 1 ? ' was' : 's were'} not added:
            </strong>
            <ul>
              {rejected.slice(0, 20).map((r) => (
                <li key={r}>{r}</li>
              ))}
            </ul>
          </div>
        )}
        <div className="row spread">
          <span data-testid="teach-count">
            {images.length} good image{images.length === 1 ? '' : 's'}
            {adding && ' · checking files…'}
          </span>
          {images.length > 0 && (
            <button type="button" className="link" onClick={() => void clear()} disabled={busy}>
              Remove all
            </button>
          )}
        </div>
        {images.length === 0 && record.origin && record.training && (
          <p className="small muted" data-testid="imported-no-images">
            This model came from {record.origin}: a model file holds the flow and its threshold (with the held-out scores, so the false-alarm rate can still be changed), but not the {record.training.images + (record.training.heldOut ?? 0)} good images it was
            trained on. To retrain it, add good images here.
          </p>
        )}
        <ImagesAdvice n={images.length} record={record} />
        <Thumbnails images={images} onRemove={busy ? undefined : (id) => void remove(id)} />
      </section>

      <TrainPanel record={record} />
      {record.calibration && <CalibrationPanel record={record} />}
    </div>
  );
}

const pct = (r: number) => `${(r * 100).toFixed(r < 0.01 ? 2 : 1)} %`;

/** Good images needed for `rate`: enough held out that 1 / (held + 1) <= rate. */
function imagesFor(rate: number): number {
  for (let n = 5; n < 5000; n++) if (1 / (heldOutCount(n) + 1) <= rate + 1e-12) return n;
  return 5000;
}

/** Advice on the number of good images from what the held-out calibration can promise, not a rule of thumb. */
function ImagesAdvice({ n, record }: { n: number; record: ModelRecord }) {
  // A recalibration adds marked-good parts to the held-out ones: say which is which.
  const marked = useLearn((s) => s.versions[record.id]?.find((v) => v.version === record.version)?.calibratedWith.length ?? 0);
  const refresh = useLearn((s) => s.refresh);
  useEffect(() => {
    if (record.version > 0) void refresh(record.id);
  }, [record.id, record.version, refresh]);
  if (n === 0) return null;
  const m = record.calibration?.method;
  const rate = m?.kind === 'false-alarm-rate' ? m.rate : DEFAULT_FALSE_ALARM_RATE;
  const held = heldOutCount(n);
  const minRate = held > 0 ? 1 / (held + 1) : 1;
  const cal = record.calibration;
  const measured = cal?.source === 'held-out' && cal.guarantee ? cal : null;
  if (minRate <= rate && (!measured || measured.guarantee!.supported)) return null;
  return (
    <p className="warning-text" data-testid="few-images-warning">
      Only {n} good image{n === 1 ? '' : 's'}:{' '}
      {held > 0 ? `${held} will be held out to set the threshold, and ${held} held-out images support false-alarm rates down to ${pct(minRate)}.` : 'too few to hold any out, so the threshold will come from the training images and promise nothing.'}{' '}
      {measured &&
        measured.good.n !== held &&
        (marked > 0 && marked < measured.good.n
          ? `The threshold of ${versionLabel(record.version, cal?.revision)} rests on ${measured.good.n} good images (${measured.good.n - marked} held out + ${marked} marked good): they support false-alarm rates down to ${pct(measured.guarantee!.minRate)}. `
          : `The last training held out ${measured.good.n}: they support false-alarm rates down to ${pct(measured.guarantee!.minRate)}. `)}
      For {pct(rate)} about {imagesFor(rate)} good images are needed. You can still train.
    </p>
  );
}
