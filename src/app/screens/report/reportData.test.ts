import { describe, expect, it } from 'vitest';
import { hashParams, screenFromHash } from '..';
import { typingInto } from '../../stores/onboarding';
import { reportHash, sourceFromParams } from './reportData';

describe('report routes', () => {
  it('reads the report page and its query from the hash, and writes them back the same', () => {
    expect(screenFromHash('#/report?source=batch')).toBe('report');
    expect(screenFromHash('#/help')).toBe('help');
    expect(screenFromHash('#/nowhere')).toBe('teach');
    const day = { kind: 'history' as const, fromDay: '2026-12-01', toDay: '2026-12-02', modelId: 'm1' };
    expect(sourceFromParams(hashParams(reportHash(day)), '2026-12-05')).toEqual(day);
    expect(sourceFromParams(hashParams(reportHash({ kind: 'batch' })), '2026-12-05')).toEqual({ kind: 'batch' });
  });

  it('takes today for a day report without dates, and the start day as its end', () => {
    expect(sourceFromParams(new URLSearchParams('source=history'), '2026-12-05')).toEqual({ kind: 'history', fromDay: '2026-12-05', toDay: '2026-12-05', modelId: '' });
    expect(sourceFromParams(new URLSearchParams('source=history&from=2026-11-30'), '2026-12-05')).toMatchObject({ fromDay: '2026-11-30', toDay: '2026-11-30' });
  });
});

describe('the ? shortcut', () => {
  it('is a question mark, not the shortcut, in text fields', () => {
    const el = (tagName: string, extra: Record<string, unknown> = {}) => ({ tagName, isContentEditable: false, ...extra }) as unknown as EventTarget;
    expect(typingInto(el('INPUT', { type: 'text' }))).toBe(true);
    expect(typingInto(el('INPUT', { type: 'search' }))).toBe(true);
    expect(typingInto(el('TEXTAREA'))).toBe(true);
    expect(typingInto(el('DIV', { isContentEditable: true }))).toBe(true);
    expect(typingInto(el('INPUT', { type: 'checkbox' }))).toBe(false);
    expect(typingInto(el('BUTTON'))).toBe(false);
    expect(typingInto(null)).toBe(false);
  });
});
