import { useEffect, useRef, useState } from 'react';
import { frameToBlob, useCamera } from '../lib/camera';
import { CameraPicker } from './CameraPicker';

interface Props {
  onCapture: (items: { blob: Blob; name: string }[]) => void;
}

const BURST = 20;
const BURST_INTERVAL_MS = 250;

/** Adds webcam frames to the training set, one at a time or a burst while the part is moved a little. */
export function CameraCapture({ onCapture }: Props) {
  const { state, devices, start, stop } = useCamera();
  const [deviceId, setDeviceId] = useState('');
  const [burst, setBurst] = useState(0);
  const video = useRef<HTMLVideoElement>(null);

  useEffect(() => {
    if (video.current) video.current.srcObject = state.kind === 'on' ? state.stream : null;
  }, [state]);

  const grab = async (n: number) => {
    const v = video.current;
    if (!v || v.videoWidth === 0) return;
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const out: { blob: Blob; name: string }[] = [];
    for (let i = 0; i < n; i++) {
      setBurst(n - i);
      out.push({ blob: await frameToBlob(v), name: `camera-${stamp}-${i + 1}.png` });
      if (i < n - 1) await new Promise((r) => setTimeout(r, BURST_INTERVAL_MS));
    }
    setBurst(0);
    onCapture(out);
  };

  return (
    <div className="camera-capture">
      <CameraPicker state={state} devices={devices} deviceId={deviceId} onDevice={(id) => { setDeviceId(id); if (state.kind === 'on' || state.kind === 'error') void start(id || undefined); }} onStart={() => start(deviceId || undefined)} onStop={stop} />
      <video ref={video} autoPlay muted playsInline className={state.kind === 'on' ? 'preview' : 'preview hidden'} aria-label="Camera preview" />
      {state.kind === 'on' && (
        <div className="row">
          <button type="button" onClick={() => grab(1)} disabled={burst > 0}>
            Capture frame
          </button>
          <button type="button" onClick={() => grab(BURST)} disabled={burst > 0}>
            {burst > 0 ? `Capturing… ${burst}` : `Capture ${BURST} frames`}
          </button>
        </div>
      )}
    </div>
  );
}
