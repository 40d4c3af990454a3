// RFC 4180 CSV: the one writer behind every export of the app and the CLI.

export type CsvCell = string | number | boolean | null | undefined;

function cell(v: CsvCell): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV with a header row, CRLF line ends. */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvCell[])[]): string {
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

/** Splits an image's path as dropped ("lot 7/tray 2/a.png") into its folder ("lot 7/tray 2") and file name. */
export function splitPath(path: string): { folder: string; file: string } {
  const i = path.lastIndexOf('/');
  return i < 0 ? { folder: '', file: path } : { folder: path.slice(0, i), file: path.slice(i + 1) };
}

/** Six significant digits: what a float32 score holds, without the float64 noise of its decimal form. */
export function sixDigits(v: number | undefined | null): number | null {
  return v === undefined || v === null || !Number.isFinite(v) ? null : Number(v.toPrecision(6));
}
