import { DEFAULT_SETTINGS, forBackbone, PAPER_SETTINGS, withRotations, type BackboneId, type ModelSettings } from '../src/core';

/** Flags shared by commands that build or score with a model; parseArgs option specs. */
export const SETTINGS_FLAGS = {
  preset: { type: 'string' },
  size: { type: 'string' },
  scales: { type: 'string' },
  taps: { type: 'string' },
  blocks: { type: 'string' },
  width: { type: 'string' },
  clamp: { type: 'string' },
  'train-transforms': { type: 'string' },
  copies: { type: 'string' },
  'test-transforms': { type: 'string' },
  epochs: { type: 'string' },
  'sub-epochs': { type: 'string' },
  batch: { type: 'string' },
  lr: { type: 'string' },
  seed: { type: 'string' },
  jitter: { type: 'string' },
  rotate: { type: 'boolean' },
  'no-rotate': { type: 'boolean' },
} as const;

export class UsageError extends Error {
  override name = 'UsageError';
}

function num(values: Record<string, unknown>, key: string, integer: boolean, min: number): number | undefined {
  const raw = values[key];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
    throw new UsageError(`--${key} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got "${String(raw)}"`);
  }
  return n;
}

/** Settings from a preset ('default' or 'paper'), the backbone's default features, and individual flags on top. */
export function settingsFromFlags(values: Record<string, unknown>, backbone?: BackboneId): ModelSettings {
  const preset = (values.preset as string | undefined) ?? 'default';
  if (preset !== 'default' && preset !== 'paper') throw new UsageError(`--preset must be "default" or "paper", got "${preset}"`);
  if (values.rotate && values['no-rotate']) throw new UsageError('--rotate and --no-rotate contradict each other');
  let base = structuredClone(preset === 'paper' ? PAPER_SETTINGS : DEFAULT_SETTINGS);
  if (backbone) base = forBackbone(base, backbone);
  // Before the individual flags, so e.g. --rotate --test-transforms 64 keeps the 64.
  if (values.rotate) base = withRotations(base, true);
  if (values['no-rotate']) base = withRotations(base, false);
  const set = <T>(v: T | undefined, apply: (v: T) => void) => v !== undefined && apply(v);
  set(num(values, 'size', true, 32), (v) => (base.features.size = v));
  set(num(values, 'scales', true, 1), (v) => (base.features.scales = v));
  // Checked against the backbone's plan when the model is built (resolveTaps lists the names it has).
  set(values.taps as string | undefined, (v) => (base.features.taps = v.split(',').map((t) => t.trim()).filter(Boolean)));
  set(num(values, 'blocks', true, 1), (v) => (base.flow.blocks = v));
  set(num(values, 'width', true, 1), (v) => (base.flow.hidden = v));
  set(num(values, 'clamp', false, 0.01), (v) => (base.flow.clamp = v));
  set(num(values, 'train-transforms', true, 1), (v) => (base.train.transforms = v));
  set(num(values, 'copies', true, 1), (v) => (base.train.copies = v));
  set(num(values, 'test-transforms', true, 1), (v) => (base.testTransforms = v));
  set(num(values, 'epochs', true, 1), (v) => (base.train.epochs = v));
  set(num(values, 'sub-epochs', true, 1), (v) => (base.train.subEpochs = v));
  set(num(values, 'batch', true, 1), (v) => (base.train.batchSize = v));
  set(num(values, 'lr', false, 0), (v) => (base.train.adam = { ...base.train.adam, lr: v }));
  set(num(values, 'seed', true, 0), (v) => (base.train.seed = v));
  set(num(values, 'jitter', false, 0), (v) => (base.train.jitter = v));
  if (base.features.size / 2 ** (base.features.scales - 1) < 32) throw new UsageError('--size too small for that many --scales (the smallest scale must be >= 32 px)');
  return base;
}

export function intFlag(values: Record<string, unknown>, key: string, fallback: number, min = 1): number {
  return num(values, key, true, min) ?? fallback;
}
