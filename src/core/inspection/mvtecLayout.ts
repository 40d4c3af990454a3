// The MVTec AD folder layout, as used by the official DifferNet code and anomalib; one set of rules for
// the CLI's folder reader and the app's dropped folders:
//   DIR/train/good/*             defect-free training images
//   DIR/test/good/*              defect-free test images (label 0)
//   DIR/test/<defect>/*          defective test images (label 1), one folder per defect type
//   DIR/ground_truth/<defect>/<stem>_mask.png   optional pixel masks (also accepted: <stem>.png)

export const MVTEC_IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.bmp'] as const;

export function isMvtecImageName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return !name.startsWith('.') && dot > 0 && (MVTEC_IMAGE_EXTENSIONS as readonly string[]).includes(name.slice(dot).toLowerCase());
}

/** 'good' is the defect-free folder; every other test folder is a defect type. */
export function labelOfFolder(folder: string): 0 | 1 {
  return folder === 'good' ? 0 : 1;
}

function stemOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

/** Mask file names that belong to an image, in order of preference. */
export function maskNamesFor(imageName: string): string[] {
  const s = stemOf(imageName);
  return [`${s}_mask.png`, `${s}.png`];
}

/** Where a path sits in the layout, from its folder names; null for anything else (README, train images when not asked). */
export type LayoutPlace =
  | { kind: 'train'; name: string }
  | { kind: 'test'; defect: string; label: 0 | 1; name: string }
  | { kind: 'mask'; defect: string; name: string };

export function placeOf(path: string): LayoutPlace | null {
  const parts = path.split('/').filter((p) => p.length > 0);
  const name = parts[parts.length - 1] ?? '';
  if (name.startsWith('.')) return null;
  const at = (dir: string) => parts.lastIndexOf(dir);
  const gt = at('ground_truth');
  if (gt >= 0 && parts.length === gt + 3) return { kind: 'mask', defect: parts[gt + 1], name };
  const t = at('test');
  if (t >= 0 && parts.length === t + 3 && isMvtecImageName(name)) return { kind: 'test', defect: parts[t + 1], label: labelOfFolder(parts[t + 1]), name };
  const tr = at('train');
  if (tr >= 0 && parts.length === tr + 3 && parts[tr + 1] === 'good' && isMvtecImageName(name)) return { kind: 'train', name };
  return null;
}
