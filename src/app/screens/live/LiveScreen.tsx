import { useEffect, useRef, useState } from 'react';
import type { Roi } from '../../../worker/protocol';
import { CameraPicker } from '../../components/CameraPicker';
import { Legend } from '../../components/Legend';
import { cameraStateLabel, useCamera } from '../../lib/camera';
import { downloadBlob } from '../../lib/download';
import { formatDisplayScore, judge } from '../../../core/inspection';
import { useEngine } from '../../stores/engine';
import { useLive } from '../../stores/live';
import { useModels } from '../../stores/models';
import { useTeach } from '../../stores/teach';
import { drawOverlay, roiBetween } from './overlay';
import { QuickTeach } from './QuickTeach';
import { useLiveLoop } from './useLiveLoop';

export function LiveScreen() {
  const record = useModels((s) => s.records.find((r) => r.id === s.activeId) ?? null);
  const palette = useEngine((s) => s.palette);
  const training = useTeach((s) => s.job !== null);
  const live = useLive();
  const { state: cam, devices, start, stop } = useCamera();
  const video = useRef<HTMLVideoElement>(null);
  const overlay = useRef<HTMLCanvasElement>(null);
  const [draft, setDraft] = useState<Roi | null>(null);
  const dragFrom = useRef<{ x: number; y: number } | null>(null);
  const [opacity, setOpacity] = useState(0.6);

  const cal = record?.calibration ?? null;
  const trained = !!record && record.version > 0;
  const cameraOn = cam.kind === 'on';
  const scoring = cameraOn && trained && live.running && !live.paused && !training;
  useLiveLoop(video, scoring, record?.id ?? null, record?.version ?? 0);

  useEffect(() => {
    if (video.current) video.current.srcObject = cam.kind === 'on' ? cam.stream : null;
  }, [cam]);

  // Scoring starts by itself once a trained model and a camera are there: the demo needs no extra click.
  useEffect(() => {
    if (cameraOn && trained) useLive.getState().set({ running: true });
  }, [cameraOn, trained, record?.version]);

  useEffect(() => {
    const c = overlay.current;
    const v = video.current;
    if (!c || !v || !v.videoWidth) return;
    if (c.width !== v.videoWidth || c.height !== v.videoHeight) {
      c.width = v.videoWidth;
      c.height = v.videoHeight;
    }
    drawOverlay(c.getContext('2d')!, live.heatmap ? live.mapResult : null, live.roi, cal ? { low: cal.mapLow, high: cal.mapHigh } : null, palette, opacity, draft);
  }, [live.mapResult, live.heatmap, live.roi, cal, palette, opacity, draft]);

  const rel = (e: React.PointerEvent) => {
    const b = e.currentTarget.getBoundingClientRect();
    return { x: Math.min(1, Math.max(0, (e.clientX - b.left) / b.width)), y: Math.min(1, Math.max(0, (e.clientY - b.top) / b.height)) };
  };

  const snapshot = async () => {
    const v = video.current;
    if (!v || !v.videoWidth) return;
    const c = new OffscreenCanvas(v.videoWidth, v.videoHeight);
    const ctx = c.getContext('2d')!;
    ctx.drawImage(v, 0, 0);
    if (overlay.current) ctx.drawImage(overlay.current, 0, 0);
    if (live.result) {
      ctx.fillStyle = 'rgba(0,0,0,0.6)';
      ctx.fillRect(0, 0, c.width, 36);
      ctx.fillStyle = '#fff';
      ctx.font = '20px system-ui, sans-serif';
      ctx.fillText(`${verdict ?? ''} ${judged ? `score ${formatDisplayScore(judged.display)} (threshold 0.5)` : ''} · ${record?.name ?? ''} v${record?.version ?? ''} · ${new Date().toLocaleString()}`, 10, 25);
    }
    downloadBlob(await c.convertToBlob({ type: 'image/png' }), `snapshot-${Date.now()}.png`);
  };

  const judged = live.result && cal ? judge(live.result.score, cal) : null;
  const verdict = judged ? (judged.verdict === 'defect' ? 'DEFECT' : 'OK') : null;

  return (
    <div className="screen" data-testid="live-screen">
      <h1>Live{record ? ` · “${record.name}”` : ''}</h1>
      <div className="live-layout">
        <div>
          <div
            className={`verdict-banner ${verdict ? verdict.toLowerCase() : 'idle'}`}
            role="status"
            aria-live="polite"
            data-testid="live-verdict"
            data-verdict={verdict ?? ''}
            data-score={live.result?.score ?? ''}
            data-display-score={judged?.display ?? ''}
            data-frames={live.frames}
            data-score-ms={live.result?.ms ?? ''}
          >
            {!cameraOn
              ? cameraStateLabel(cam)
              : !trained
                ? 'No trained model: teach one below'
                : training
                  ? 'Training…'
                  : live.paused
                    ? 'Paused'
                    : live.result
                      ? judged
                        ? `${verdict} · score ${formatDisplayScore(judged.display)} (threshold 0.5)`
                        : 'NOT CALIBRATED'
                      : 'Scoring first frame…'}
          </div>
          <div className="stage">
            <video ref={video} autoPlay muted playsInline aria-label="Camera image" />
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
                if (roi.width > 0.03 && roi.height > 0.03) live.set({ roi, result: null });
              }}
            />
            {cam.kind !== 'on' && <div className="stage-empty">{cameraStateLabel(cam)}</div>}
          </div>
          <div className="row wrap small">
            <span data-testid="live-fps">{scoring && live.fps > 0 ? `${live.fps.toFixed(1)} frames/s` : '— frames/s'}</span>
            <span className="muted">{live.frames} frames scored</span>
            {live.heatmap && (
              <span className="muted" data-testid="live-maps" data-maps={live.maps} data-map-ms={live.mapResult?.ms ?? ''}>
                {scoring && live.mapsPerSecond > 0 ? `heatmap ${live.mapsPerSecond.toFixed(1)} maps/s` : scoring ? 'heatmap starting…' : 'heatmap —'}
              </span>
            )}
            {live.roi ? <span className="muted">Region of interest set</span> : <span className="muted">Drag on the image to set a region of interest</span>}
          </div>
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
              <button type="button" onClick={snapshot} disabled={!cameraOn} data-testid="live-snapshot">
                Snapshot
              </button>
              <button type="button" className="secondary" onClick={() => live.set({ roi: null, result: null })} disabled={!live.roi}>
                Clear region
              </button>
              <button type="button" className="secondary" onClick={() => live.set({ roi: { x: 0.25, y: 0.25, width: 0.5, height: 0.5, relative: true }, result: null })} disabled={!cameraOn}>
                Centre region
              </button>
            </div>
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
            <p className="small muted">Frames are scored on this machine; nothing is recorded or sent.</p>
          </section>
          <QuickTeach video={video} cameraOn={cameraOn} />
        </div>
      </div>
    </div>
  );
}
