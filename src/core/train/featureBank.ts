import type { Backbone } from '../backbones/types';
import type { FeatureEngine } from '../execution/featureEngine';
import type { CopySpec } from '../features/copies';
import { featureDim, type FeatureConfig } from '../features/extractor';
import type { RgbaImage } from '../image';
import { ProgressClock, throwIfAborted, type Progress } from '../progress';
import { seededRandom } from '../random';

/** Lazily loaded images, so a large training set is never decoded all at once. */
export interface ImageSource {
  readonly count: number;
  load(index: number): Promise<RgbaImage> | RgbaImage;
}

export function arraySource(images: RgbaImage[]): ImageSource {
  return { count: images.length, load: (i) => images[i] };
}

/**
 * Features of `copies` transformed versions of every training image, row (i * copies + j). The backbone is
 * frozen, so training the flow over many epochs reads these rows instead of running the CNN again.
 */
export interface FeatureBank {
  dim: number;
  count: number;
  copies: number;
  data: Float32Array;
}

export interface AugmentOptions {
  /** Random rotations over the full circle (the paper's augmentation). */
  rotate: boolean;
  /** Max relative change of brightness / contrast / saturation; 0 disables. */
  jitter: number;
}

/** The random transforms of every training image, drawn up front so any worker split gives the same bank. */
export function bankCopySpecs(count: number, copies: number, seed: number, aug: AugmentOptions): CopySpec[][] {
  const rand = seededRandom(seed);
  const factor = () => 1 + (rand() * 2 - 1) * aug.jitter;
  return Array.from({ length: count }, () =>
    Array.from({ length: copies }, () => ({
      angle: aug.rotate ? rand() * 2 * Math.PI : 0,
      ...(aug.jitter > 0 ? { jitter: { brightness: factor(), contrast: factor(), saturation: factor() } } : {}),
    })),
  );
}

export interface BankOptions extends AugmentOptions {
  copies: number;
  seed: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export async function extractFeatureBank(engine: FeatureEngine, backbone: Backbone, cfg: FeatureConfig, source: ImageSource, opts: BankOptions): Promise<FeatureBank> {
  const dim = featureDim(backbone, cfg);
  const data = new Float32Array(source.count * opts.copies * dim);
  const specs = bankCopySpecs(source.count, opts.copies, opts.seed, opts);
  const clock = new ProgressClock(source.count);
  for (let i = 0; i < source.count; i++) {
    throwIfAborted(opts.signal, 'feature extraction');
    const rows = await engine.copyRows(backbone, cfg, await source.load(i), specs[i]);
    data.set(rows, i * opts.copies * dim);
    opts.onProgress?.(clock.at(i + 1));
  }
  return { dim, count: source.count, copies: opts.copies, data };
}

/**
 * Transformed copies per second through the backbone on this engine, from `copies` random rotations of
 * `img` after one untimed warm-up copy: the rate featureBankCost turns into an extraction time.
 */
export async function measureCopyRate(engine: FeatureEngine, backbone: Backbone, cfg: FeatureConfig, img: RgbaImage, copies = 4): Promise<number> {
  const specs = bankCopySpecs(1, copies + 1, 1, { rotate: true, jitter: 0 })[0];
  await engine.copyRows(backbone, cfg, img, specs.slice(0, 1));
  const start = globalThis.performance?.now() ?? Date.now();
  await engine.copyRows(backbone, cfg, img, specs.slice(1));
  const seconds = ((globalThis.performance?.now() ?? Date.now()) - start) / 1000;
  return copies / Math.max(seconds, 1e-9);
}
