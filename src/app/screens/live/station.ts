// The station's side effects: a beep and a saved frame when the debounced verdict turns DEFECT, and the
// export of the saved frames as one zip.
import { strToU8, zipSync } from 'fflate';
import { displayScale, displayScore, sixDigits, type Calibration } from '../../../core/inspection';
import { toCsv } from '../../lib/csv';
import { overlayPng } from '../../lib/overlay';
import { listStationDefects, saveStationDefect, stationDefectId, type StationDefect } from '../../persistence/stationDefects';
import type { LiveResult } from '../../stores/live';
import { roiPixels } from './overlay';

let audio: AudioContext | null = null;

/**
 * Browsers let a page make sound only after a click on it: the sound checkbox calls this, so the context
 * exists and runs before the first DEFECT.
 */
export function unlockSound(): void {
  audio ??= new AudioContext();
  void audio.resume();
}

/** A short two-tone beep: audible over a workshop without being mistaken for a phone. */
export function beep(): void {
  // After a reload the box is still ticked; any click on the page since (Start camera) lets this sound.
  audio ??= new AudioContext();
  const t = audio.currentTime;
  const gain = audio.createGain();
  gain.gain.setValueAtTime(0.0001, t);
  gain.gain.exponentialRampToValueAtTime(0.3, t + 0.01);
  gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.35);
  gain.connect(audio.destination);
  for (const [f, at] of [
    [880, 0],
    [660, 0.17],
  ] as const) {
    const o = audio.createOscillator();
    o.frequency.value = f;
    o.connect(gain);
    o.start(t + at);
    o.stop(t + at + 0.16);
  }
}

/** The region of `r`'s frame that was scored, as a PNG. */
export async function regionPng(r: LiveResult): Promise<Blob | null> {
  const f = r.frame;
  if (!f) return null;
  const p = roiPixels(r.roi, f.width, f.height);
  const c = new OffscreenCanvas(Math.max(1, Math.round(p.width)), Math.max(1, Math.round(p.height)));
  c.getContext('2d')!.drawImage(f, p.x, p.y, p.width, p.height, 0, 0, c.width, c.height);
  return c.convertToBlob({ type: 'image/png' });
}

export async function saveDefect(result: LiveResult, map: LiveResult | null, model: { name: string; version: number; calibration: Calibration | null }): Promise<number> {
  const image = await regionPng(result);
  if (!image) throw new Error('the scored frame is gone');
  const takenAt = result.takenAt ?? Date.now();
  const mapImage = map?.map ? await regionPng(map) : null;
  const d: StationDefect = {
    id: stationDefectId(takenAt),
    takenAt,
    model: model.name,
    version: model.version,
    score: result.score,
    display: model.calibration ? displayScore(result.score, displayScale(model.calibration)) : null,
    image,
    map: map?.map && mapImage ? { image: mapImage, map: map.map, width: map.mapWidth, height: map.mapHeight, score: map.score } : undefined,
  };
  return saveStationDefect(d);
}

/** Every saved defect: the scored region, its heatmap overlay where one was saved, and a CSV of them all. */
export async function stationZip(calibrationOf: (model: string) => Calibration | null, palette: Uint8Array | null): Promise<{ blob: Blob; count: number }> {
  const all = await listStationDefects();
  const files: Record<string, Uint8Array> = {};
  const rows: (string | number)[][] = [];
  for (const d of all) {
    const stem = `defects/${new Date(d.takenAt).toISOString().replace(/[:.]/g, '-')}-${d.id.slice(-6)}`;
    files[`${stem}.png`] = new Uint8Array(await d.image.arrayBuffer());
    let heat = '';
    if (d.map) {
      const cal = calibrationOf(d.model);
      const png = await overlayPng(
        { name: stem, blob: d.map.image, score: d.map.score, display: cal ? displayScore(d.map.score, displayScale(cal)) : undefined, verdict: 'DEFECT', map: d.map.map, mapWidth: d.map.width, mapHeight: d.map.height, calibration: cal, model: `${d.model} v${d.version}` },
        palette,
      );
      heat = `${stem}-heatmap.png`;
      files[heat] = new Uint8Array(await png.arrayBuffer());
    }
    rows.push([`${stem}.png`, heat, new Date(d.takenAt).toISOString(), d.model, d.version, d.display === null ? '' : (sixDigits(d.display) ?? ''), sixDigits(d.score) ?? '']);
  }
  files['defects.csv'] = strToU8(toCsv(['file', 'heatmap_file', 'taken_at', 'model', 'version', 'score', 'raw_score'], rows));
  // PNGs are compressed already.
  const zip = zipSync(files, { level: 0 });
  return { blob: new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' }), count: all.length };
}
