import { maskNamesFor, placeOf } from '../../core/inspection/mvtecLayout';
import { looksLikeImage, type PickedFile } from './files';

export interface LabelledFile {
  file: File;
  path: string;
  label: 0 | 1;
  /** 'good' or the defect folder's name. */
  category: string;
  mask?: File;
}

export interface MvtecParse {
  items: LabelledFile[];
  /** Files that are neither test images nor masks (e.g. train/ or README). */
  ignored: number;
}

/**
 * Reads the MVTec AD layout anywhere in the dropped paths, by the engine's layout rules
 * (src/core/inspection/mvtecLayout.ts): test/good/*, test/<defect>/*, ground_truth/<defect>/<stem>_mask.png.
 */
export function parseMvtec(files: PickedFile[]): MvtecParse {
  const masks = new Map<string, File>();
  const places = files.map((f) => placeOf(f.path));
  files.forEach((f, i) => {
    const p = places[i];
    if (p?.kind === 'mask') masks.set(`${p.defect}/${p.name}`, f.file);
  });
  const items: LabelledFile[] = [];
  let ignored = 0;
  files.forEach((f, i) => {
    const p = places[i];
    if (p?.kind === 'mask') return;
    if (p?.kind !== 'test' || !looksLikeImage(f.file)) {
      ignored++;
      return;
    }
    const mask = p.label === 1 ? maskNamesFor(p.name).map((m) => masks.get(`${p.defect}/${m}`)).find((m) => m) : undefined;
    items.push({ file: f.file, path: f.path, label: p.label, category: p.defect, mask });
  });
  return { items, ignored };
}
