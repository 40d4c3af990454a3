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

function stem(name: string): string {
  return name.replace(/\.[^.]+$/, '');
}

/**
 * Reads the MVTec AD layout anywhere in the dropped paths: test/good/*, test/<defect>/*, and
 * ground_truth/<defect>/<stem>_mask.png for pixel-level labels.
 */
export function parseMvtec(files: PickedFile[]): MvtecParse {
  const masks = new Map<string, File>();
  for (const f of files) {
    const parts = f.path.split('/');
    const gt = parts.lastIndexOf('ground_truth');
    if (gt >= 0 && parts.length >= gt + 3) masks.set(`${parts[gt + 1]}/${stem(parts[parts.length - 1]).replace(/_mask$/, '')}`, f.file);
  }
  const items: LabelledFile[] = [];
  let ignored = 0;
  for (const f of files) {
    const parts = f.path.split('/');
    const t = parts.lastIndexOf('test');
    if (t < 0 || parts.length !== t + 3 || !looksLikeImage(f.file)) {
      if (parts.lastIndexOf('ground_truth') < 0) ignored++;
      continue;
    }
    const category = parts[t + 1];
    const label = category === 'good' ? 0 : 1;
    items.push({ file: f.file, path: f.path, label, category, mask: label === 1 ? masks.get(`${category}/${stem(f.file.name)}`) : undefined });
  }
  return { items, ignored };
}
