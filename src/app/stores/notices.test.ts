import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NOTICE_MS, useNotices } from './notices';

beforeEach(() => {
  vi.useFakeTimers();
  useNotices.setState({ notices: [], held: [] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('notices', () => {
  it('routine messages and warnings go away by themselves; errors stay until dismissed', () => {
    const { push } = useNotices.getState();
    push('info', 'saved');
    push('warning', 'slow backend');
    push('error', 'could not save');
    vi.advanceTimersByTime(NOTICE_MS.info!);
    expect(useNotices.getState().notices.map((n) => n.message)).toEqual(['slow backend', 'could not save']);
    vi.advanceTimersByTime(NOTICE_MS.warning!);
    expect(useNotices.getState().notices.map((n) => n.message)).toEqual(['could not save']);
    vi.advanceTimersByTime(3_600_000);
    const [error] = useNotices.getState().notices;
    expect(error.kind).toBe('error');
    useNotices.getState().dismiss(error.id);
    expect(useNotices.getState().notices).toEqual([]);
  });

  it('shows the same message once, and at most six at a time', () => {
    const { push } = useNotices.getState();
    push('error', 'camera failed');
    push('error', 'camera failed');
    expect(useNotices.getState().notices).toHaveLength(1);
    for (let i = 0; i < 8; i++) push('error', `error ${i}`);
    expect(useNotices.getState().notices.map((n) => n.message)).toEqual(['error 2', 'error 3', 'error 4', 'error 5', 'error 6', 'error 7']);
  });

  it('a routine message stays while it is being read, and goes its time after', () => {
    const { push, hold } = useNotices.getState();
    push('info', 'saved');
    const [n] = useNotices.getState().notices;
    hold(n.id, true);
    vi.advanceTimersByTime(5 * NOTICE_MS.info!);
    expect(useNotices.getState().notices).toHaveLength(1);
    hold(n.id, false);
    vi.advanceTimersByTime(NOTICE_MS.info!);
    expect(useNotices.getState().notices).toHaveLength(0);
    expect(useNotices.getState().held).toEqual([]);
  });
});
