import { useState, type RefObject } from 'react';
import type { BackboneId } from '../../../core';
import { quickPreset } from '../../components/SettingsForm';
import { LossChart } from '../../components/LossChart';
import { ProgressBar } from '../../components/ProgressBar';
import { WeightsPanel } from '../../components/WeightsPanel';
import { useEngine } from '../../stores/engine';
import { useLive } from '../../stores/live';
import { useModels } from '../../stores/models';
import { reportError } from '../../stores/notices';
import { RECOMMENDED_IMAGES, useTeach } from '../../stores/teach';
import { roiPixels } from './overlay';

/**
 * Camera frames of one part are near copies of each other, so a rate promised from a few of them would
 * not hold on the line; 1 % puts the threshold above every held-out frame, and the panel says what the
 * frames can actually promise.
 */
const CAMERA_FALSE_ALARMS = 0.01;

const PHASE = { features: 'Features of the good frames', flow: 'Training the flow', calibrate: 'Setting the threshold on held-out frames' } as const;

async function grabFrame(v: HTMLVideoElement): Promise<Blob> {
  const roi = useLive.getState().roi;
  const r = roi ? roiPixels(roi, v.videoWidth, v.videoHeight) : { x: 0, y: 0, width: v.videoWidth, height: v.videoHeight };
  const c = new OffscreenCanvas(Math.max(1, Math.round(r.width)), Math.max(1, Math.round(r.height)));
  c.getContext('2d')!.drawImage(v, r.x, r.y, r.width, r.height, 0, 0, c.width, c.height);
  // Lossless: live frames are scored uncompressed, and JPEG artefacts alone would shift the scores.
  return c.convertToBlob({ type: 'image/png' });
}

/** The whole demo in one place: capture good frames, train with quick settings, and go back to live scoring. */
export function QuickTeach({ video, cameraOn }: { video: RefObject<HTMLVideoElement | null>; cameraOn: boolean }) {
  const record = useModels((s) => s.records.find((r) => r.id === s.activeId) ?? null);
  const { create, update } = useModels();
  const weights = useEngine((s) => s.weights);
  const presets = useEngine((s) => s.presets)!;
  const { images, addBlobs, clear, train, job, cancel } = useTeach();
  const [count, setCount] = useState(RECOMMENDED_IMAGES);
  const [capturing, setCapturing] = useState(0);
  const available = (Object.keys(weights) as BackboneId[])[0];

  const newDemoModel = async () => {
    if (!available) return;
    try {
      const r = await create(`Live demo ${new Date().toLocaleTimeString()}`, weights.squeezenet1_1 ? 'squeezenet1_1' : available);
      await update(r.id, { settings: quickPreset(presets.default) });
    } catch (e) {
      reportError(e, 'The demo model could not be created');
    }
  };

  const capture = async () => {
    const v = video.current;
    if (!v) return;
    const out: { blob: Blob; name: string }[] = [];
    for (let i = 0; i < count; i++) {
      setCapturing(count - i);
      out.push({ blob: await grabFrame(v), name: `live-${Date.now()}-${i + 1}.png` });
      await new Promise((r) => setTimeout(r, 200));
    }
    setCapturing(0);
    await addBlobs(out);
  };

  return (
    <section className="card" aria-labelledby="qt-title" data-testid="quick-teach">
      <h2 id="qt-title">Teach from the camera</h2>
      {!available ? (
        <WeightsPanel need="squeezenet1_1" />
      ) : !record ? (
        <button type="button" className="primary" onClick={newDemoModel} data-testid="new-demo-model">
          New model for this demo
        </button>
      ) : (
        <>
          <p className="small muted">
            Point the camera at a good part (draw a region on the video to restrict it), capture frames while moving the part slightly, then train. Model “{record.name}”:{' '}
            <span data-testid="qt-count">{images.length} good images</span>.
          </p>
          <div className="row wrap">
            <label>
              Frames <input type="number" min={1} max={200} value={count} onChange={(e) => setCount(Math.max(1, Number(e.target.value) || 1))} className="narrow" aria-label="Frames to capture" />
            </label>
            <button type="button" onClick={capture} disabled={!cameraOn || capturing > 0 || !!job} data-testid="capture-good">
              {capturing > 0 ? `Capturing… ${capturing}` : 'Capture good frames'}
            </button>
            <button type="button" className="primary" onClick={() => void train(CAMERA_FALSE_ALARMS)} disabled={images.length === 0 || !!job || !weights[record.backbone]} data-testid="live-train">
              {record.version > 0 ? 'Retrain' : 'Train'}
            </button>
            <button type="button" className="secondary" onClick={() => void clear()} disabled={images.length === 0 || !!job}>
              Forget frames
            </button>
            <button type="button" className="link" onClick={newDemoModel} disabled={!!job}>
              new demo model
            </button>
          </div>
          {job && (
            <>
              <ProgressBar label={PHASE[job.phase]} done={job.done} total={job.total} etaSeconds={job.etaSeconds} onCancel={cancel} />
              {job.losses.length > 1 && <LossChart losses={job.losses} />}
            </>
          )}
        </>
      )}
    </section>
  );
}
