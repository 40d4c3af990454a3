// How a model's training images were framed, and how a camera frame is mapped to the model's input the
// same way. The engine stretches every image to its square input, so a 4:3 camera frame and a square photo
// of the same part reach the flow with different proportions: the features differ and every good part
// reads DEFECT. Cropping each frame to the training images' aspect before that stretch gives the flow the
// proportions it learnt.

/** A rectangle in fractions of the frame (0..1 on both axes). */
export interface FrameRegion {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What a model records about the images it was taught from (ModelSettings.framing). */
export interface Framing {
  /** Median width / height of the training images, as decoded (after any region crop). */
  aspect: number;
  /** Smallest and largest aspect among them: a wide spread means no single crop matches all of them. */
  aspectRange?: [number, number];
  /** Camera-taught models: the part of the camera frame the training frames were cut from. */
  region?: FrameRegion;
  /** Camera-taught models: the camera frame's size then, in pixels. */
  frame?: { width: number; height: number };
}

/**
 * Models saved before framing was recorded: their input is square, and the engine stretched every
 * training image to it, so a square crop is the closest to what they saw on average. Scoring itself
 * never reads this; an old file scores exactly as before.
 */
export const DEFAULT_FRAMING: Framing = { aspect: 1 };

/** Aspect differences up to this (relative) are within the spread of real photos and do not change a verdict. */
export const ASPECT_TOLERANCE = 0.08;

export function framingOf(settings: { framing?: Framing } | null | undefined): Framing {
  const f = settings?.framing;
  return f && Number.isFinite(f.aspect) && f.aspect > 0 ? f : DEFAULT_FRAMING;
}

/** The framing of images of these sizes: their median aspect and its range. */
export function framingFromSizes(sizes: readonly { width: number; height: number }[], extra: Omit<Framing, 'aspect' | 'aspectRange'> = {}): Framing {
  const aspects = sizes.filter((s) => s.width > 0 && s.height > 0).map((s) => s.width / s.height);
  if (aspects.length === 0) return { ...DEFAULT_FRAMING, ...extra };
  aspects.sort((a, b) => a - b);
  const m = aspects.length >> 1;
  const aspect = aspects.length % 2 ? aspects[m] : Math.sqrt(aspects[m - 1] * aspects[m]);
  return { ...extra, aspect, aspectRange: [aspects[0], aspects[aspects.length - 1]] };
}

/** The largest centred region of a w x h frame whose pixels have the given aspect (width / height). */
export function centreCrop(w: number, h: number, aspect: number): FrameRegion {
  if (!(w > 0 && h > 0 && aspect > 0)) return { x: 0, y: 0, width: 1, height: 1 };
  const frameAspect = w / h;
  if (frameAspect > aspect) {
    const width = aspect / frameAspect;
    return { x: (1 - width) / 2, y: 0, width, height: 1 };
  }
  const height = frameAspect / aspect;
  return { x: 0, y: (1 - height) / 2, width: 1, height };
}

/** Width / height in pixels of a region of a w x h frame. */
export function regionAspect(r: FrameRegion, w: number, h: number): number {
  return (r.width * w) / (r.height * h);
}

/**
 * The region a camera frame is scored in when the user has drawn none: a camera-taught model's own
 * region when the camera's frame has the shape it was taught with, else the centred crop to the
 * training aspect.
 */
export function defaultRegion(framing: Framing, w: number, h: number): FrameRegion {
  const f = framing.frame;
  if (framing.region && f && f.width > 0 && f.height > 0 && Math.abs(f.width / f.height / (w / h) - 1) < 0.01) return framing.region;
  return centreCrop(w, h, framing.aspect);
}

/**
 * The same region placed centrally with the training aspect and as much of the old one's area as fits:
 * what "fix the framing" does to a region a person drew.
 */
export function fitToAspect(r: FrameRegion, w: number, h: number, aspect: number): FrameRegion {
  const cx = r.x + r.width / 2;
  const cy = r.y + r.height / 2;
  const areaPx = r.width * w * r.height * h;
  let pw = Math.sqrt(areaPx * aspect);
  let ph = pw / aspect;
  const s = Math.min(1, w / pw, h / ph);
  pw *= s;
  ph *= s;
  const width = pw / w;
  const height = ph / h;
  return { x: clamp(cx - width / 2, 0, 1 - width), y: clamp(cy - height / 2, 0, 1 - height), width, height };
}

export interface FramingCheck {
  /** Width / height of the scored pixels. */
  aspect: number;
  /** The training images' aspect. */
  trained: number;
  /** Relative difference between the two; 0 = same proportions. */
  mismatch: number;
  ok: boolean;
}

/** Whether frames cut by `r` from a w x h frame reach the model framed as its training images were. */
export function checkFraming(framing: Framing, r: FrameRegion, w: number, h: number): FramingCheck {
  const aspect = regionAspect(r, w, h);
  const mismatch = Math.abs(Math.log(aspect / framing.aspect));
  return { aspect, trained: framing.aspect, mismatch, ok: mismatch <= ASPECT_TOLERANCE };
}

/** "4:3", "1:1", "1.27:1": an aspect a person can read. */
export function formatAspect(aspect: number): string {
  const known: [number, string][] = [
    [1, '1:1'],
    [4 / 3, '4:3'],
    [3 / 4, '3:4'],
    [16 / 9, '16:9'],
    [9 / 16, '9:16'],
    [3 / 2, '3:2'],
    [2 / 3, '2:3'],
  ];
  for (const [v, s] of known) if (Math.abs(aspect / v - 1) < 0.005) return s;
  return aspect >= 1 ? `${aspect.toFixed(2)}:1` : `1:${(1 / aspect).toFixed(2)}`;
}

/** A region that stays inside the frame and is at least a few pixels across; rejects garbage from storage. */
export function validRegion(r: unknown): r is FrameRegion {
  if (!r || typeof r !== 'object') return false;
  const { x, y, width, height } = r as FrameRegion;
  return [x, y, width, height].every((v) => typeof v === 'number' && Number.isFinite(v)) && x >= 0 && y >= 0 && width > 0.01 && height > 0.01 && x + width <= 1 + 1e-6 && y + height <= 1 + 1e-6;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
