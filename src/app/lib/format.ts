import { formatTime } from '../../core/inspection/history';
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  // One rule for every size in the app: binary units, three significant digits.
  const [v, unit] = n < 1024 ** 2 ? [n / 1024, 'KB'] : n < 1024 ** 3 ? [n / 1024 ** 2, 'MB'] : [n / 1024 ** 3, 'GB'];
  return `${v >= 100 ? Math.round(v) : Number(v.toPrecision(3))} ${unit}`;
}

export function formatSeconds(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '…';
  if (s <= 59) return `${Math.max(0, Math.ceil(s))} s`;
  // Round to whole seconds first, so 4 min 59.6 s reads "5 min 0 s", never "4 min 60 s".
  const total = Math.max(60, Math.round(s));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h > 0) return `${h} h ${m} min`;
  return `${m} min ${sec} s`;
}

export function formatScore(s: number | undefined | null): string {
  if (s === undefined || s === null || !Number.isFinite(s)) return '—';
  const a = Math.abs(s);
  // Defect-map values are squared gradients, often around 1e-4: fixed decimals would show 0.000.
  if (a !== 0 && a < 0.01) return s.toExponential(2);
  return a >= 100 ? s.toFixed(1) : s.toFixed(3);
}

export function newId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export { BACKBONE_LABEL } from '../../core/backbones/types';

/**
 * The one date-time format of the UI: local time to the second, "2026-12-02 14:03:07", as History, reports and
 * toasts show it. Exports keep ISO 8601 in UTC; only what people read goes through here.
 */
export function formatDateTime(t: number | string | Date): string {
  const ms = t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : t;
  return Number.isFinite(ms) ? formatTime(ms) : String(t);
}
