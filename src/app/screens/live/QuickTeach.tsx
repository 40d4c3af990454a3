import { useEffect, useState, type RefObject } from 'react';
import type { BackboneId } from '../../../core';
import { DEFAULT_FALSE_ALARM_RATE, framesNeeded, heldOutCount, heldOutNeeded, promisedRate, rateSupportedBy, regionAspect, verdictOf } from '../../../core/inspection';
import type { Roi } from '../../../worker/protocol';
import { engine } from '../../engine';
import { forBackbone } from '../../../core/model/settings';
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
import { scoredRegion } from './region';

/** The default rate, and the frames whose held-out fifth can promise it (calibration.ts's rule). */
const RATE = DEFAULT_FALSE_ALARM_RATE;
const MIN_FRAMES = framesNeeded(RATE) ?? 100;
/** New frames scored after training, to show how the model does on good frames it never saw. */
const CHECK_FRAMES = 12;
const CHECK_KEY = 'differnet.live.check';

interface NewFrameCheck {
  modelId: string;
  version: number;
  flagged: number;
  total: number;
}

function loadCheck(modelId: string, version: number): NewFrameCheck | null {
  try {
    const c = JSON.parse(localStorage.getItem(`${CHECK_KEY}:${modelId}`) ?? 'null') as NewFrameCheck | null;
    return c && c.version === version ? c : null;
  } catch {
    return null;
  }
}

const pct = (r: number) => `${+(r * 100).toFixed(1)} %`;

const PHASE = { features: 'Features of the good frames', flow: 'Training the flow', calibrate: 'Setting the threshold on held-out frames' } as const;

/** The region Live scores for the active model now: taught frames are cut exactly as live frames will be. */
function regionNow(v: HTMLVideoElement): Roi {
  const record = useModels.getState().active();
  return scoredRegion(useLive.getState().roi, record?.settings, v.videoWidth, v.videoHeight);
}

async function grabFrame(v: HTMLVideoElement, roi: Roi): Promise<Blob> {
  const r = roiPixels(roi, v.videoWidth, v.videoHeight);
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
  const [count, setCount] = useState(Math.max(RECOMMENDED_IMAGES, MIN_FRAMES));
  const [capturing, setCapturing] = useState(0);
  const [checking, setChecking] = useState(false);
  const [check, setCheck] = useState<NewFrameCheck | null>(null);
  useEffect(() => setCheck(record ? loadCheck(record.id, record.version) : null), [record?.id, record?.version]);
  const available = (Object.keys(weights) as BackboneId[])[0];

  const newDemoModel = async () => {
    if (!available) return;
    try {
      const r = await create(`Live demo ${new Date().toLocaleTimeString()}`, weights.squeezenet1_1 ? 'squeezenet1_1' : available);
      // The chosen backbone's own features (GoogLeNet: one 224 px pass), then the demo's quick flow.
      await update(r.id, { settings: quickPreset(forBackbone(presets.default, r.backbone), r.backbone) });
    } catch (e) {
      reportError(e, 'The demo model could not be created');
    }
  };

  const capture = async () => {
    const v = video.current;
    if (!v || !record) return;
    const roi = regionNow(v);
    // The model remembers where in which frame its frames were cut; training adds their measured aspect.
    const framing = { ...record.settings.framing, aspect: regionAspect(roi, v.videoWidth, v.videoHeight), region: { x: roi.x, y: roi.y, width: roi.width, height: roi.height }, frame: { width: v.videoWidth, height: v.videoHeight } };
    try {
      await update(record.id, { settings: { ...record.settings, framing } });
    } catch (e) {
      reportError(e, 'The region could not be recorded with the model');
    }
    const out: { blob: Blob; name: string }[] = [];
    for (let i = 0; i < count; i++) {
      setCapturing(count - i);
      out.push({ blob: await grabFrame(v, roi), name: `live-${Date.now()}-${i + 1}.png` });
      await new Promise((r) => setTimeout(r, 200));
    }
    setCapturing(0);
    await addBlobs(out);
  };

  /** Scores frames taken after training, which no part of training saw: what the line will see next. */
  const checkNewFrames = async () => {
    const v = video.current;
    const m = useModels.getState().active();
    if (!v || !m?.calibration || !cameraOn) return;
    setChecking(true);
    try {
      let flagged = 0;
      for (let i = 0; i < CHECK_FRAMES; i++) {
        const frame = await createImageBitmap(v);
        const r = await engine().call('analyze', { modelId: m.id, image: frame, map: false, roi: regionNow(v) }, { transfer: [frame] });
        if (verdictOf(r.score, m.calibration.threshold) === 'defect') flagged++;
        await new Promise((res) => setTimeout(res, 250));
      }
      const c: NewFrameCheck = { modelId: m.id, version: m.version, flagged, total: CHECK_FRAMES };
      setCheck(c);
      localStorage.setItem(`${CHECK_KEY}:${m.id}`, JSON.stringify(c));
    } catch (e) {
      reportError(e, 'The check on new frames failed');
    } finally {
      setChecking(false);
    }
  };

  const trainNow = async () => {
    if (await train(RATE)) await checkNewFrames();
  };

  const n = images.length;
  const promised = promisedRate(record?.calibration ?? null);

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
          <p className="small">
            Point the camera at a good part inside the outlined region. While frames are captured, <strong>move and turn the part slightly and vary the light</strong> (a hand's shadow, a lamp moved): the model learns which changes are normal, and frames that all look alike make every small change read DEFECT. Model “{record.name}”:{' '}
            <span data-testid="qt-count">{n} good images</span>.
          </p>
          <p className="small muted" data-testid="qt-minimum">
            {n >= MIN_FRAMES
              ? `Enough for ${pct(RATE)} false alarms: ${heldOutCount(n)} of the ${n} frames are held out to set the threshold.`
              : `Capture at least ${MIN_FRAMES} frames for ${pct(RATE)} false alarms: a fifth are held out to set the threshold, and it takes ${heldOutNeeded(RATE)} held-out frames to promise ${pct(RATE)} (a rate needs 1 / (held-out + 1) or more).${n > 0 ? ` ${n} frames hold out ${heldOutCount(n)}, which can promise ${rateSupportedBy(n) >= 1 ? 'nothing' : `${pct(rateSupportedBy(n))} at best`}.` : ''}`}
          </p>
          <div className="row wrap">
            <label>
              Frames <input type="number" min={1} max={200} value={count} onChange={(e) => setCount(Math.max(1, Number(e.target.value) || 1))} className="narrow" aria-label="Frames to capture" />
            </label>
            <button type="button" onClick={capture} disabled={!cameraOn || capturing > 0 || !!job} data-testid="capture-good">
              {capturing > 0 ? `Capturing… ${capturing}` : 'Capture good frames'}
            </button>
            <button type="button" className="primary" onClick={() => void trainNow()} disabled={images.length === 0 || !!job || checking || !weights[record.backbone]} data-testid="live-train">
              {record.version > 0 ? 'Retrain' : 'Train'}
            </button>
            <button type="button" className="secondary" onClick={() => void clear()} disabled={images.length === 0 || !!job}>
              Forget frames
            </button>
            <button type="button" className="link" onClick={newDemoModel} disabled={!!job}>
              new demo model
            </button>
          </div>
          {record.version > 0 && record.calibration && (
            <p className="small" data-testid="qt-result">
              {promised !== null ? `Threshold set on ${record.calibration.good.n} held-out frames: at most ${pct(promised)} false alarms on good parts like them.` : 'The threshold promises no false-alarm rate (too few frames to hold any out).'}{' '}
              {checking ? (
                <span className="muted">Checking new frames…</span>
              ) : check ? (
                <span data-testid="qt-check" data-flagged={check.flagged} data-total={check.total} className={check.flagged > 0 ? 'warning-text' : undefined}>
                  Flagged {check.flagged} of {check.total} new good frames{check.flagged > 0 ? ': capture more varied frames and retrain, or look at what changed.' : '.'}
                </span>
              ) : (
                cameraOn && (
                  <button type="button" className="link" onClick={() => void checkNewFrames()}>
                    check {CHECK_FRAMES} new frames
                  </button>
                )
              )}
            </p>
          )}
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
