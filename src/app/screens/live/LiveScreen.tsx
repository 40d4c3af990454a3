import { useEffect, useRef, useState } from 'react';
import type { Roi } from '../../../worker/protocol';
import { CameraPicker } from '../../components/CameraPicker';
import { Legend } from '../../components/Legend';
import { cameraStateLabel, useCamera } from '../../lib/camera';
import { downloadBlob } from '../../lib/download';
import { checkFraming, fitToAspect, formatAspect, formatDisplayScore, judge, regionAspect } from '../../../core/inspection';
import { useEngine } from '../../stores/engine';
import { useLive } from '../../stores/live';
import { useModels } from '../../stores/models';
import { reportError } from '../../stores/notices';
import { useTeach } from '../../stores/teach';
import { drawOverlay, roiBetween, roiPixels } from './overlay';
import { QuickTeach } from './QuickTeach';
import { framingOfModel, loadRegion, saveRegion, scoredRegion } from './region';
import { snapshotPng } from './snapshot';
import { DriftPanel } from '../inspect/DriftPanel';
import { StationPanel } from './StationPanel';
import { regionPng } from './station';
import { MarkWrong } from '../../components/MarkWrong';
import { useLiveLoop } from './useLiveLoop';
import { formatDateTime } from '../../lib/format';

export function LiveScreen() {
  const record = useModels((s) => s.records.find((r) => r.id === s.activeId) ?? null);
  const palette = useEngine((s) => s.palette);
  const training = useTeach((s) => s.job !== null);
  const live = useLive();
  const { state: cam, devices, start, stop } = useCamera();
  const video = useRef<HTMLVideoElement>(null);
  const overlay = useRef<HTMLCanvasElement>(null);
  const frozen = useRef<HTMLCanvasElement>(null);
  const [draft, setDraft] = useState<Roi | null>(null);
  const dragFrom = useRef<{ x: number; y: number } | null>(null);
  const [opacity, setOpacity] = useState(0.6);
  const [size, setSize] = useState<{ width: number; height: number } | null>(null);

  const cal = record?.calibration ?? null;
  const trained = !!record && record.version > 0;
  const cameraOn = cam.kind === 'on';
  const camera = cameraOn ? cam.label : null;
  const scoring = cameraOn && trained && live.running && !live.paused && !training;
  useLiveLoop(video, scoring, record?.id ?? null, record?.version ?? 0);

  useEffect(() => {
    if (video.current) video.current.srcObject = cam.kind === 'on' ? cam.stream : null;
  }, [cam]);

  // The video's size decides the default region; it is known only once frames arrive, and may change.
  useEffect(() => {
    const v = video.current;
    if (!v) return;
    const update = () => setSize(v.videoWidth ? { width: v.videoWidth, height: v.videoHeight } : null);
    v.addEventListener('loadedmetadata', update);
    v.addEventListener('resize', update);
    update();
    return () => {
      v.removeEventListener('loadedmetadata', update);
      v.removeEventListener('resize', update);
    };
  }, []);

  // A region belongs to a model and a camera: switching either brings back the one chosen for that pair.
  useEffect(() => {
    if (record && camera) useLive.getState().set({ roi: loadRegion(record.id, camera), result: null });
  }, [record?.id, camera]);

  const setRoi = (roi: Roi | null) => {
    // While paused the picture stays on the last scored frame (a snapshot of it names the region it was
    // scored in); scoring, a result for the old region would be stale.
    live.set(live.paused ? { roi } : { roi, result: null });
    if (record && camera) saveRegion(record.id, camera, roi);
  };

  // Scoring starts by itself once a trained model and a camera are there: the demo needs no extra click.
  useEffect(() => {
    if (cameraOn && trained) useLive.getState().set({ running: true });
  }, [cameraOn, trained, record?.version]);

  const framing = framingOfModel(record?.settings);
  const region = size ? scoredRegion(live.roi, record?.settings, size.width, size.height) : null;
  const check = region && size ? checkFraming(framing, region, size.width, size.height) : null;

  useEffect(() => {
    const c = overlay.current;
    if (!c || !size) return;
    if (c.width !== size.width || c.height !== size.height) {
      c.width = size.width;
      c.height = size.height;
    }
    drawOverlay(c.getContext('2d')!, live.heatmap ? live.mapResult : null, region, cal ? { low: cal.mapLow, high: cal.mapHigh } : null, palette, opacity, draft);
  }, [live.mapResult, live.heatmap, region?.x, region?.y, region?.width, region?.height, cal, palette, opacity, draft, size]);

  // Paused: the picture stops on the frame the shown verdict belongs to, not on whatever the camera shows now.
  const frozenFrame = live.paused ? (live.result?.frame ?? null) : null;
  useEffect(() => {
    const c = frozen.current;
    if (!c || !frozenFrame) return;
    c.width = frozenFrame.width;
    c.height = frozenFrame.height;
    c.getContext('2d')!.drawImage(frozenFrame, 0, 0);
  }, [frozenFrame]);

  const rel = (e: React.PointerEvent) => {
    const b = e.currentTarget.getBoundingClientRect();
    return { x: Math.min(1, Math.max(0, (e.clientX - b.left) / b.width)), y: Math.min(1, Math.max(0, (e.clientY - b.top) / b.height)) };
  };

  const judged = live.result && cal ? judge(live.result.score, cal) : null;
  const verdict = judged ? (judged.verdict === 'defect' ? 'DEFECT' : 'OK') : null;
  // What the station shows: the k-of-n verdict once decided, the frame's own before that.
  const stable = live.debounced.stable ? (live.debounced.stable === 'defect' ? 'DEFECT' : 'OK') : verdict;

  const snapshot = async () => {
    const r = live.result;
    if (!r?.frame || !record) return;
    try {
      const png = await snapshotPng(r.frame, {
        verdict: verdict ?? 'NOT CALIBRATED',
        score: judged ? `score ${formatDisplayScore(judged.display)} (threshold 0.5)` : `raw score ${r.score.toPrecision(4)}`,
        model: `Model “${record.name}” v${record.version}`,
        time: formatDateTime(r.takenAt ?? Date.now()),
      }, regionInPixels(r.roi, r.frame.width, r.frame.height));
      downloadBlob(png, `snapshot-${new Date(r.takenAt ?? Date.now()).toISOString().replace(/[:.]/g, '-')}.png`);
    } catch (e) {
      reportError(e, 'The snapshot could not be saved');
    }
  };

  const banner = !cameraOn
    ? { text: cameraStateLabel(cam), kind: 'idle' }
    : !trained
      ? { text: 'No trained model: teach one below', kind: 'idle' }
      : training
        ? { text: 'Training…', kind: 'idle' }
        : live.paused
          ? { text: judged ? `Paused · last frame ${verdict} · score ${formatDisplayScore(judged.display)}` : 'Paused', kind: 'paused' }
          : live.result
            ? judged
              ? { text: `${stable} · score ${formatDisplayScore(judged.display)} (threshold 0.5)`, kind: stable!.toLowerCase() }
              : { text: 'NOT CALIBRATED', kind: 'idle' }
            : { text: 'Scoring first frame…', kind: 'idle' };

  return (
    <div className="screen" data-testid="live-screen">
      <h1>Live{record ? ` · “${record.name}”` : ''}</h1>
      <div className="live-layout">
        <div>
          <div
            className={`verdict-banner ${banner.kind}`}
            role="status"
            aria-live="polite"
            data-testid="live-verdict"
            data-verdict={verdict ?? ''}
            data-stable={stable ?? ''}
            data-score={live.result?.score ?? ''}
            data-display-score={judged?.display ?? ''}
            data-frames={live.frames}
            data-score-ms={live.result?.ms ?? ''}
          >
            {banner.text}
          </div>
          <div className="stage">
            <video ref={video} autoPlay muted playsInline aria-label="Camera image" />
            {frozenFrame && <canvas ref={frozen} className="stage-frozen" aria-label="The last scored frame (paused)" data-testid="live-frozen" />}
            <canvas
              ref={overlay}
              className="stage-overlay"
              aria-label="Defect heatmap over the camera image; drag to set a region of interest"
              data-testid="live-overlay"
              onPointerDown={(e) => {
                if (!cameraOn) return;
                e.currentTarget.setPointerCapture(e.pointerId);
                dragFrom.current = rel(e);
              }}
              onPointerMove={(e) => {
                if (dragFrom.current) setDraft(roiBetween(dragFrom.current, rel(e)));
              }}
              onPointerUp={(e) => {
                const from = dragFrom.current;
                dragFrom.current = null;
                setDraft(null);
                if (!from) return;
                const roi = roiBetween(from, rel(e));
                // A click (no drag) is not a region.
                if (roi.width > 0.03 && roi.height > 0.03) setRoi(roi);
              }}
            />
            {cam.kind !== 'on' && <div className="stage-empty">{cameraStateLabel(cam)}</div>}
          </div>
          <div className="row wrap small">
            <span data-testid="live-fps" title="Frames judged per second, those the heatmap lane mapped included">{scoring && live.fps > 0 ? `${live.fps.toFixed(1)} verdicts/s` : '— verdicts/s'}</span>
            <span className="muted">{live.frames.toLocaleString()} frames scored</span>
            {/* The station's counts beside the picture too: on a phone the panel is a long scroll away. */}
            <span className="muted" data-testid="live-counts">
              {live.counts.pass.toLocaleString()} passed · {live.counts.fail.toLocaleString()} failed
            </span>
            {live.heatmap && (
              <span className="muted" data-testid="live-maps" data-maps={live.maps} data-map-ms={live.mapResult?.ms ?? ''}>
                {scoring && live.mapsPerSecond > 0 ? `heatmap ${live.mapsPerSecond.toFixed(1)} maps/s` : scoring ? (live.mapError ? 'heatmap stopped' : 'heatmap starting…') : 'heatmap —'}
              </span>
            )}
          </div>
          {cameraOn && size && region && check && (
            <p className={`small ${check.ok ? 'muted' : 'warning-text'}`} data-testid="live-framing" data-framing-ok={check.ok ? 'yes' : 'no'} role={check.ok ? undefined : 'alert'}>
              {check.ok
                ? `${live.roi ? 'Your region' : 'The outlined region'} (${formatAspect(regionAspect(region, size.width, size.height))} of the ${formatAspect(size.width / size.height)} frame) is scored, framed like the model's training images (${formatAspect(framing.aspect)}). Drag on the image to draw another region.`
                : `Framed differently from training: the region scored is ${formatAspect(check.aspect)} but the model learnt from ${formatAspect(check.trained)} images, so good parts may read DEFECT. Use “Training framing” or “Fit region”.`}
              {framing.aspectRange && framing.aspectRange[1] / framing.aspectRange[0] > 1.5 && ` The training images varied in shape (${formatAspect(framing.aspectRange[0])} to ${formatAspect(framing.aspectRange[1])}); ${formatAspect(framing.aspect)} is their median.`}
            </p>
          )}
          {live.mapError && live.heatmap && (
            <p className="small warning-text" role="alert" data-testid="live-map-error">
              Heatmap stopped: {live.mapError}. Verdicts go on without it.
            </p>
          )}
          {live.error && (
            <p className="error-text" role="alert" data-testid="live-error">
              Scoring stopped: {live.error}
            </p>
          )}
        </div>
        <div className="live-side">
          <section className="card">
            <CameraPicker
              state={cam}
              devices={devices}
              deviceId={live.deviceId}
              onDevice={(id) => {
                live.set({ deviceId: id });
                // Picking a camera after it failed (unplugged, say) is asking for it: start it.
                if (cameraOn || cam.kind === 'error') void start(id || undefined);
              }}
              onStart={() => void start(live.deviceId || undefined)}
              onStop={() => {
                stop();
                live.set({ running: false });
              }}
            />
            <div className="row wrap">
              <button type="button" onClick={() => live.set({ paused: !live.paused })} disabled={!cameraOn || !trained} data-testid="live-pause">
                {live.paused ? 'Resume' : 'Pause'}
              </button>
              {!live.running && cameraOn && trained && (
                <button type="button" onClick={() => live.set({ running: true, error: null })}>
                  Start scoring
                </button>
              )}
              <button type="button" onClick={snapshot} disabled={!live.result?.frame} data-testid="live-snapshot" title="Saves the last scored frame with its verdict, score, model and time">
                Snapshot
              </button>
              <button type="button" className="secondary" onClick={() => setRoi(null)} disabled={!live.roi} title="Score the region framed like the model's training images" data-testid="live-default-region">
                Training framing
              </button>
              <button
                type="button"
                className="secondary"
                onClick={() => live.roi && size && setRoi({ ...fitToAspect(live.roi, size.width, size.height, framing.aspect), relative: true })}
                disabled={!live.roi || !size || !!check?.ok}
                title="Keep your region's centre and size, with the training images' proportions"
              >
                Fit region
              </button>
            </div>
            {trained && record && (
              <MarkWrong
                label="last scored frame"
                target={
                  live.result?.frame && judged
                    ? {
                        modelId: record.id,
                        // Cut when marked: the scored region of the frame the shown verdict belongs to, as saved defects are.
                        blob: (() => {
                          const r = live.result!;
                          return async () => {
                            const png = await regionPng(r);
                            if (!png) throw new Error('the scored frame is gone');
                            return png;
                          };
                        })(),
                        name: `live frame ${formatDateTime(live.result.takenAt ?? Date.now())}`,
                        from: 'live',
                        verdictAt: live.result.takenAt,
                      }
                    : null
                }
              />
            )}
            <div className="row wrap">
              <label>
                <input type="checkbox" checked={live.heatmap} onChange={(e) => live.set({ heatmap: e.target.checked })} /> heatmap
              </label>
              <label>
                opacity <input type="range" min={0} max={1} step={0.05} value={opacity} onChange={(e) => setOpacity(Number(e.target.value))} />
              </label>
              <label>
                rotations{' '}
                <select value={live.transforms} onChange={(e) => live.set({ transforms: Number(e.target.value) })} aria-label="Rotations per frame">
                  <option value={0}>as calibrated ({record?.settings.testTransforms ?? '—'})</option>
                  {[1, 2, 4, 8, 16].map((n) => (
                    <option key={n} value={n}>
                      {n}
                    </option>
                  ))}
                </select>
              </label>
            </div>
            {cal && palette && <Legend scale={{ low: cal.mapLow, high: cal.mapHigh }} palette={palette} />}
            <p className="small muted">Frames are scored on this machine and never sent; each verdict is kept in this browser's History.</p>
          </section>
          <StationPanel />
          {trained && cal && (
            <section className="card" aria-labelledby="live-drift-title" data-testid="live-drift">
              <h2 id="live-drift-title">Drift</h2>
              {/* Live saves a few verdicts a second: the check reads the history every few seconds, not on each. */}
              <DriftPanel record={record} refreshMs={3000} />
            </section>
          )}
          <QuickTeach video={video} cameraOn={cameraOn} />
        </div>
      </div>
    </div>
  );
}

/** The scored region in whole pixels of the frame, as the engine rounds it. */
function regionInPixels(roi: Roi, w: number, h: number) {
  const p = roiPixels(roi, w, h);
  const x = Math.max(0, Math.min(w - 1, Math.round(p.x)));
  const y = Math.max(0, Math.min(h - 1, Math.round(p.y)));
  return { x, y, width: Math.max(1, Math.min(w - x, Math.round(p.width))), height: Math.max(1, Math.min(h - y, Math.round(p.height))) };
}
