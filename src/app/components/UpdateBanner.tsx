import { useUpdate } from '../lib/serviceWorker';

/** "A new version is available": the reload is the user's, so nothing running is cut short unasked. */
export function UpdateBanner() {
  const { waiting, accepted, accept } = useUpdate();
  if (!waiting) return null;
  return (
    <div className="update-banner" role="status" data-testid="update-banner">
      <span>A new version of DifferNet Inspector is available. Reloading stops a training or inspection that is running; your models, batch and history stay.</span>
      <button type="button" className="primary" onClick={accept} disabled={accepted} data-testid="update-reload">
        {accepted ? 'Reloading…' : 'Reload'}
      </button>
    </div>
  );
}
