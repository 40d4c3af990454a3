import { useCallback, useEffect, useRef, useState } from 'react';

/** The camera's state in a few words, for status lines and the live banner. */
export function cameraStateLabel(state: CameraState): string {
  switch (state.kind) {
    case 'off':
      return 'Camera off';
    case 'starting':
      return 'Starting camera…';
    case 'on':
      return `Using ${state.label}`;
    case 'error':
      return { denied: 'Camera access denied', missing: 'No camera found', busy: 'Camera busy', unplugged: 'Camera disconnected', unsupported: 'No camera access here', other: 'Camera failed' }[state.reason];
  }
}

export type CameraState =
  | { kind: 'off' }
  | { kind: 'starting' }
  | { kind: 'on'; stream: MediaStream; label: string }
  | { kind: 'error'; reason: 'denied' | 'missing' | 'busy' | 'unplugged' | 'unsupported' | 'other'; message: string };

function describe(e: unknown): CameraState {
  const name = (e as DOMException)?.name;
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return { kind: 'error', reason: 'denied', message: 'Camera access was denied. Allow the camera for this page (the camera icon in the address bar), then press Start camera again.' };
    case 'NotFoundError':
    case 'OverconstrainedError':
      return { kind: 'error', reason: 'missing', message: 'No camera was found. Plug one in, then press Start camera.' };
    case 'NotReadableError':
    case 'AbortError':
      return { kind: 'error', reason: 'busy', message: 'The camera could not be opened; another application may be using it.' };
    default:
      return { kind: 'error', reason: 'other', message: `The camera could not be started: ${(e as Error)?.message ?? String(e)}` };
  }
}

/**
 * One camera stream with explicit states. Errors stop the camera and wait for the user: nothing retries
 * in a loop, and an unplugged camera ends in a clear state.
 */
export function useCamera() {
  const [state, setState] = useState<CameraState>({ kind: 'off' });
  const [devices, setDevices] = useState<MediaDeviceInfo[]>([]);
  const streamRef = useRef<MediaStream | null>(null);

  const refreshDevices = useCallback(async () => {
    try {
      const all = await navigator.mediaDevices.enumerateDevices();
      setDevices(all.filter((d) => d.kind === 'videoinput'));
    } catch {
      setDevices([]);
    }
  }, []);

  const stop = useCallback(() => {
    streamRef.current?.getTracks().forEach((t) => t.stop());
    streamRef.current = null;
    setState({ kind: 'off' });
  }, []);

  const start = useCallback(
    async (deviceId?: string) => {
      streamRef.current?.getTracks().forEach((t) => t.stop());
      streamRef.current = null;
      if (!navigator.mediaDevices?.getUserMedia) {
        setState({ kind: 'error', reason: 'unsupported', message: 'This browser cannot use a camera here (it needs https or localhost).' });
        return;
      }
      setState({ kind: 'starting' });
      try {
        const stream = await navigator.mediaDevices.getUserMedia({
          video: { deviceId: deviceId ? { exact: deviceId } : undefined, width: { ideal: 1280 }, height: { ideal: 720 } },
          audio: false,
        });
        const track = stream.getVideoTracks()[0];
        track.addEventListener('ended', () => {
          if (streamRef.current !== stream) return;
          streamRef.current = null;
          setState({ kind: 'error', reason: 'unplugged', message: 'The camera was disconnected (unplugged, or taken by another application). Plug it back in, then choose it or press Start camera.' });
          void refreshDevices();
        });
        streamRef.current = stream;
        setState({ kind: 'on', stream, label: track.label || 'camera' });
        void refreshDevices();
      } catch (e) {
        setState(describe(e));
      }
    },
    [refreshDevices],
  );

  useEffect(() => {
    void refreshDevices();
    const md = navigator.mediaDevices;
    md?.addEventListener?.('devicechange', refreshDevices);
    return () => {
      md?.removeEventListener?.('devicechange', refreshDevices);
      streamRef.current?.getTracks().forEach((t) => t.stop());
      streamRef.current = null;
    };
  }, [refreshDevices]);

  return { state, devices, start, stop };
}

/** The current video frame, losslessly: live frames are scored uncompressed, and JPEG artefacts would shift scores. */
export async function frameToBlob(video: HTMLVideoElement): Promise<Blob> {
  const c = new OffscreenCanvas(video.videoWidth, video.videoHeight);
  c.getContext('2d')!.drawImage(video, 0, 0);
  return c.convertToBlob({ type: 'image/png' });
}
