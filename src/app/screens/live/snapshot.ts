// A snapshot is the frame that was scored, with what was decided about it written below the picture:
// the picture's pixels stay exactly those the engine saw, and the text is never cut at any frame size.
import { withScoredRegion, type ScoredRegion } from '../../lib/snapshotMeta';

export interface SnapshotCaption {
  verdict: string;
  /** "score 0.912 (threshold 0.5)" or similar. */
  score: string;
  model: string;
  time: string;
}

const VERDICT_COLOUR: Record<string, string> = { DEFECT: '#fca5a5', OK: '#86efac' };

/** Splits `text` into lines no wider than `width` at the context's font, breaking at spaces (or anywhere in a long word). */
export function wrapText(measure: (s: string) => number, text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const next = line ? `${line} ${word}` : word;
    if (measure(next) <= width) {
      line = next;
      continue;
    }
    if (line) lines.push(line);
    line = word;
    // A word wider than the line (a long model name) is cut into pieces that fit.
    while (measure(line) > width && line.length > 1) {
      let cut = line.length - 1;
      while (cut > 1 && measure(line.slice(0, cut)) > width) cut--;
      lines.push(line.slice(0, cut));
      line = line.slice(cut);
    }
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * The frame, untouched, above a caption band sized to its text; the PNG names the region that was scored
 * (`region` in pixels), so Inspect scores a dropped snapshot as Live did.
 */
export async function snapshotPng(frame: ImageBitmap, caption: SnapshotCaption, region: ScoredRegion): Promise<Blob> {
  const w = frame.width;
  const h = frame.height;
  // Readable on a small frame, not shouting on a large one.
  const font = Math.max(14, Math.round(w / 40));
  const pad = Math.round(font * 0.6);
  const lineH = Math.round(font * 1.35);
  const probe = new OffscreenCanvas(1, 1).getContext('2d')!;
  probe.font = `bold ${font}px system-ui, sans-serif`;
  const head = wrapText((s) => probe.measureText(s).width, `${caption.verdict} · ${caption.score}`, w - 2 * pad);
  probe.font = `${font}px system-ui, sans-serif`;
  const rest = wrapText((s) => probe.measureText(s).width, `${caption.model} · ${caption.time}`, w - 2 * pad);
  const band = 2 * pad + (head.length + rest.length) * lineH;
  const c = new OffscreenCanvas(w, h + band);
  const ctx = c.getContext('2d')!;
  ctx.drawImage(frame, 0, 0);
  ctx.fillStyle = '#0f1419';
  ctx.fillRect(0, h, w, band);
  ctx.textBaseline = 'top';
  let y = h + pad;
  ctx.font = `bold ${font}px system-ui, sans-serif`;
  ctx.fillStyle = VERDICT_COLOUR[caption.verdict] ?? '#e5e7eb';
  for (const l of head) {
    ctx.fillText(l, pad, y);
    y += lineH;
  }
  ctx.font = `${font}px system-ui, sans-serif`;
  ctx.fillStyle = '#e5e7eb';
  for (const l of rest) {
    ctx.fillText(l, pad, y);
    y += lineH;
  }
  const png = new Uint8Array(await (await c.convertToBlob({ type: 'image/png' })).arrayBuffer());
  return new Blob([withScoredRegion(png, region) as Uint8Array<ArrayBuffer>], { type: 'image/png' });
}
