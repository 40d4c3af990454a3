import { cameraStateLabel, type CameraState } from '../lib/camera';

interface Props {
  state: CameraState;
  devices: MediaDeviceInfo[];
  deviceId: string;
  onDevice: (id: string) => void;
  onStart: () => void;
  onStop: () => void;
}

/** Device picker with start/stop and the camera's state in words. */
export function CameraPicker({ state, devices, deviceId, onDevice, onStart, onStop }: Props) {
  return (
    <div className="row wrap">
      <label>
        Camera{' '}
        <select value={deviceId} onChange={(e) => onDevice(e.target.value)} aria-label="Camera device">
          <option value="">Default camera</option>
          {devices.map((d, i) => (
            <option key={d.deviceId || i} value={d.deviceId}>
              {d.label || `Camera ${i + 1}`}
            </option>
          ))}
        </select>
      </label>
      {state.kind === 'on' || state.kind === 'starting' ? (
        <button type="button" onClick={onStop}>
          Stop camera
        </button>
      ) : (
        <button type="button" onClick={onStart}>
          Start camera
        </button>
      )}
      <span className="muted small" role="status" data-testid="camera-state">
        {state.kind === 'starting' ? 'Starting camera… (allow access if the browser asks)' : cameraStateLabel(state)}
      </span>
      {state.kind === 'error' && (
        <p className="error-text" role="alert" data-testid="camera-error">
          {state.message}
        </p>
      )}
    </div>
  );
}
