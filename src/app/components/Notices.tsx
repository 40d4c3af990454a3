import { useNotices } from '../stores/notices';

/** A fixed toast region (bottom right), visible wherever the page is scrolled. */
export function Notices() {
  const { notices, dismiss, hold } = useNotices();
  return (
    <div className="notices" aria-label="Messages" role="region">
      {notices.map((n) => (
        <div
          key={n.id}
          className={`notice ${n.kind}`}
          role={n.kind === 'error' ? 'alert' : 'status'}
          data-testid={`notice-${n.kind}`}
          onFocus={() => hold(n.id, true)}
          onBlur={() => hold(n.id, false)}
        >
          <span>{n.message}</span>
          <button type="button" className="link" onClick={() => dismiss(n.id)} aria-label="Dismiss message">
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
