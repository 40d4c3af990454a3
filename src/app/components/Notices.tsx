import { useEffect, useState, type CSSProperties } from 'react';
import { useNotices } from '../stores/notices';

/** At most this many toasts show at once; older ones wait (hidden, still in the page) until these go. */
export const NOTICES_SHOWN = 2;

/**
 * Where the phone layout's toasts start: just under the header while it is on screen, the window's top once
 * it has scrolled away, so a message never covers the tabs or the model picker.
 */
function useBelowHeader(): number | null {
  const [top, setTop] = useState<number | null>(null);
  useEffect(() => {
    const header = document.querySelector('.app-header');
    if (!header) return;
    const update = () => setTop(Math.max(0, Math.round(header.getBoundingClientRect().bottom)));
    update();
    const ro = new ResizeObserver(update);
    ro.observe(header);
    window.addEventListener('scroll', update, { passive: true });
    return () => {
      ro.disconnect();
      window.removeEventListener('scroll', update);
    };
  }, []);
  return top;
}

/** A fixed toast region (bottom left on a wide screen, under the header on a phone), visible wherever the page is scrolled. */
export function Notices() {
  const { notices, dismiss, hold } = useNotices();
  const top = useBelowHeader();
  const waiting = Math.max(0, notices.length - NOTICES_SHOWN);
  return (
    <div className="notices" aria-label="Messages" role="region" style={top === null ? undefined : ({ '--below-header': `${top}px` } as CSSProperties)}>
      {notices.map((n, i) => (
        <div
          key={n.id}
          className={`notice ${n.kind}`}
          role={n.kind === 'error' ? 'alert' : 'status'}
          data-testid={`notice-${n.kind}`}
          hidden={i < waiting}
          onFocus={() => hold(n.id, true)}
          onBlur={() => hold(n.id, false)}
        >
          <span>{n.message}</span>
          <button type="button" className="link" onClick={() => dismiss(n.id)} aria-label="Dismiss message">
            ×
          </button>
        </div>
      ))}
      {waiting > 0 && (
        <p className="notice-more small muted" data-testid="notice-more">
          {waiting} more message{waiting === 1 ? '' : 's'} after these
        </p>
      )}
    </div>
  );
}
