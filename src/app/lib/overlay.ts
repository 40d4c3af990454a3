// Overlay PNGs for export: the image with its defect heatmap, the verdict and score burned in, and the
// colour legend, so each file explains itself without the app. Browser-only (OffscreenCanvas).
import { strToU8, zipSync } from 'fflate';
import { formatDisplayScore, formatRawScore, type Calibration } from '../../core/inspection';
import { safeFileName } from './download';
import { formatScore } from './format';
import { heatLayer } from './heat';

export interface OverlayInput {
  name: string;
  blob: Blob;
  score: number;
  /** Displayed 0-1 score, when the item has a calibration. */
  display?: number;
  verdict: string;
  map?: Float32Array;
  mapWidth?: number;
  mapHeight?: number;
  calibration: Calibration | null;
  model: string;
}

const VERDICT_COLOUR: Record<string, string> = { DEFECT: '#b91c1c', OK: '#15803d' };

/** Small images are enlarged by a whole factor so the burned-in text stays readable. */
function enlargement(w: number, h: number): number {
  const side = Math.max(w, h);
  return side >= 480 ? 1 : Math.min(8, Math.ceil(480 / side));
}

export interface LegendLabel {
  /** Anchor x and how the text hangs from it. */
  x: number;
  align: 'left' | 'center' | 'right';
  /** Text line under the bar, from 0. */
  line: number;
}

/**
 * Where the legend's three marks go under a bar from `x0` to `x0 + barW`: its start, its middle (the top
 * of the good range) and its end, given the texts' widths. Marks that would touch drop to a line of their
 * own, so they never print over each other (as "≤ 4.99e-8-8.59e-5 top of goimage peak" did).
 */
export function legendLabels(widths: readonly [number, number, number], x0: number, barW: number, gap: number): LegendLabel[] {
  const [a, b, c] = widths;
  const mid = x0 + barW / 2;
  const leftEnd = x0 + a;
  const rightStart = x0 + barW - c;
  const lines = [0, 0, 0];
  // The middle mark clashes with either end: a line of its own below them.
  if (leftEnd + gap > mid - b / 2 || mid + b / 2 + gap > rightStart) lines[1] = 1;
  // Even the two ends clash (a very short bar): each takes its own line.
  if (leftEnd + gap > rightStart) {
    lines[1] = 1;
    lines[2] = 2;
  }
  return [
    { x: x0, align: 'left', line: lines[0] },
    { x: mid, align: 'center', line: lines[1] },
    { x: x0 + barW, align: 'right', line: lines[2] },
  ].map((l) => {
    // A centred mark on its own line still must not run off the bar's left edge.
    if (l.align === 'center' && l.x - b / 2 < x0) return { ...l, x: x0, align: 'left' as const };
    return l as LegendLabel;
  });
}

export async function overlayPng(it: OverlayInput, palette: Uint8Array | null, opacity = 0.6, withOutline = true): Promise<Blob> {
  const bmp = await createImageBitmap(it.blob, { imageOrientation: 'from-image' });
  try {
    const k = enlargement(bmp.width, bmp.height);
    const w = bmp.width * k;
    const h = bmp.height * k;
    const font = Math.max(13, Math.round(w / 36));
    const band = Math.round(font * 2.1);
    const small = Math.max(11, Math.round(font * 0.8));
    const cal = it.calibration;
    // The legend's marks are measured first: the canvas is as tall as the lines they need.
    const texts: [string, string, string] | null = cal ? [`≤ ${formatScore(cal.mapLow)} clear`, `${formatScore(cal.mapHigh)} top of good`, 'image peak'] : null;
    const measure = new OffscreenCanvas(1, 1).getContext('2d')!;
    measure.font = `${small}px system-ui, sans-serif`;
    const barW = Math.min(w - 2 * font, Math.max(360, texts ? texts.reduce((sum, t) => sum + measure.measureText(t).width, 0) + 4 * small : 0));
    const marks = texts ? legendLabels(texts.map((t) => measure.measureText(t).width) as [number, number, number], font, barW, small) : [];
    const lines = marks.reduce((m, l) => Math.max(m, l.line + 1), 1);
    // The model's name goes right of the bar where there is room, else on a line below the marks.
    const modelBelow = !!texts && w - barW - 3 * font <= 80;
    const legendH = Math.round(small * (2.2 + 1.3 * (lines + (modelBelow ? 1 : 0))));
    const c = new OffscreenCanvas(w, band + h + legendH);
    const ctx = c.getContext('2d')!;
    ctx.fillStyle = '#0f1419';
    ctx.fillRect(0, 0, c.width, c.height);
    ctx.imageSmoothingEnabled = k === 1;
    ctx.drawImage(bmp, 0, band, w, h);
    if (it.map && it.mapWidth && it.mapHeight && cal && palette) {
      const layer = new OffscreenCanvas(it.mapWidth, it.mapHeight);
      layer.getContext('2d')!.putImageData(heatLayer(it.map, it.mapWidth, it.mapHeight, { low: cal.mapLow, high: cal.mapHigh }, palette, withOutline), 0, 0);
      ctx.save();
      ctx.globalAlpha = opacity;
      ctx.imageSmoothingEnabled = true;
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(layer, 0, band, w, h);
      ctx.restore();
    }
    // Verdict band: the verdict in its colour, the score, the file name.
    ctx.textBaseline = 'middle';
    ctx.font = `bold ${font}px system-ui, sans-serif`;
    const label = it.verdict;
    const lw = ctx.measureText(label).width + font;
    ctx.fillStyle = VERDICT_COLOUR[it.verdict] ?? '#44403c';
    ctx.fillRect(0, 0, lw, band);
    ctx.fillStyle = '#fff';
    ctx.fillText(label, font / 2, band / 2);
    ctx.font = `${font}px system-ui, sans-serif`;
    const score = it.display !== undefined ? `score ${formatDisplayScore(it.display)} (threshold 0.5)` : `raw score ${formatRawScore(it.score)}`;
    ctx.fillStyle = '#e6edf3';
    ctx.fillText(`${score} · ${it.name.split('/').pop()}`, lw + font / 2, band / 2, w - lw - font);
    // Legend: the model's fixed colour scale.
    const y = band + h;
    if (palette && cal && texts) {
      const barY = y + small * 0.6;
      for (let x = 0; x < barW; x++) {
        const t = x / (barW - 1);
        const ci = Math.round(t * 255) * 3;
        ctx.fillStyle = `rgba(${palette[ci]},${palette[ci + 1]},${palette[ci + 2]},${Math.min(1, 0.35 + 0.65 * t)})`;
        ctx.fillRect(font + x, barY, 1, small);
      }
      ctx.font = `${small}px system-ui, sans-serif`;
      ctx.fillStyle = '#8b9bab';
      ctx.textBaseline = 'top';
      marks.forEach((m, i) => {
        ctx.textAlign = m.align;
        ctx.fillText(texts[i], m.x, barY + small * (1.2 + 1.3 * m.line));
      });
      ctx.textAlign = 'left';
      if (!modelBelow) ctx.fillText(it.model, font * 2 + barW, barY, w - barW - 3 * font);
      else ctx.fillText(it.model, font, barY + small * (1.2 + 1.3 * lines), w - 2 * font);
    } else {
      ctx.font = `${small}px system-ui, sans-serif`;
      ctx.fillStyle = '#8b9bab';
      ctx.textBaseline = 'middle';
      ctx.fillText(`${it.model} · no threshold: no heatmap scale`, font, y + legendH / 2, w - 2 * font);
    }
    return await c.convertToBlob({ type: 'image/png' });
  } finally {
    bmp.close();
  }
}

/** A unique, safe file name for the n-th overlay of the zip. */
export function overlayName(index: number, name: string, verdict: string, taken: Set<string>): string {
  const stem = safeFileName(name.split('/').pop()!.replace(/\.[^.]+$/, '')) || 'image';
  let out = `overlays/${String(index + 1).padStart(3, '0')}-${stem}-${verdict}.png`;
  for (let i = 2; taken.has(out); i++) out = `overlays/${String(index + 1).padStart(3, '0')}-${stem}-${verdict}-${i}.png`;
  taken.add(out);
  return out;
}

/** One zip: every overlay PNG, and the CSV and JSON of the whole batch. */
export async function batchZip(items: OverlayInput[], csv: string, json: string, palette: Uint8Array | null, onProgress?: (done: number, total: number) => void): Promise<Blob> {
  const files: Record<string, Uint8Array> = {};
  const taken = new Set<string>();
  for (let i = 0; i < items.length; i++) {
    const png = await overlayPng(items[i], palette);
    files[overlayName(i, items[i].name, items[i].verdict, taken)] = new Uint8Array(await png.arrayBuffer());
    onProgress?.(i + 1, items.length);
  }
  files['results.csv'] = strToU8(csv);
  files['results.json'] = strToU8(json);
  // PNGs are compressed already.
  const zip = zipSync(files, { level: 0 });
  return new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' });
}
