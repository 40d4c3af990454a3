import { useState } from 'react';
import { CameraCapture } from '../../components/CameraCapture';
import { DropZone } from '../../components/DropZone';
import { WeightsPanel } from '../../components/WeightsPanel';
import { useEngine } from '../../stores/engine';
import { useModels } from '../../stores/models';
import { RECOMMENDED_IMAGES, useTeach } from '../../stores/teach';
import { CalibrationPanel } from './CalibrationPanel';
import { NewModelForm } from './NewModelForm';
import { Thumbnails } from './Thumbnails';
import { TrainPanel } from './TrainPanel';

export function TeachScreen() {
  const record = useModels((s) => s.records.find((r) => r.id === s.activeId) ?? null);
  const weights = useEngine((s) => s.weights);
  const { images, rejected, adding, addFiles, addBlobs, remove, clear, job } = useTeach();
  const [camera, setCamera] = useState(false);
  const [creating, setCreating] = useState(false);

  if (!record || creating) {
    return (
      <div className="screen">
        <h1>Teach a new inspection model</h1>
        <NewModelForm onDone={() => setCreating(false)} onCancel={record ? () => setCreating(false) : undefined} />
        <WeightsPanel />
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
        {images.length > 0 && images.length < RECOMMENDED_IMAGES && (
          <p className="warning-text" data-testid="few-images-warning">
            Only {images.length} good image{images.length === 1 ? '' : 's'}: about {RECOMMENDED_IMAGES} or more give a more reliable model. You can still train.
          </p>
        )}
        <Thumbnails images={images} onRemove={busy ? undefined : (id) => void remove(id)} />
      </section>

      <TrainPanel record={record} />
      {record.calibration && <CalibrationPanel record={record} />}
    </div>
  );
}
