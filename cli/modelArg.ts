import { readFileSync } from 'node:fs';
import type { DifferNet } from '../src/core';
import { intFlag, UsageError } from './options';

/** A model file's bytes, or a message a person can act on (not a raw ENOENT). */
export function readModelArg(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`model file not found: ${path} (train one with \`differnet train --out ${path}\`)`);
    if (code === 'EISDIR') throw new UsageError(`--model takes a model file, but ${path} is a folder`);
    if (code === 'EACCES') throw new UsageError(`model file ${path} cannot be read (permission denied)`);
    throw e;
  }
}

/**
 * The rotations to score under. A model trained without rotations scores only the unrotated image, so a
 * --transforms it cannot use is refused rather than silently ignored.
 */
export function scoringAngles(model: DifferNet, values: Record<string, unknown>, flag = 'transforms'): number[] {
  const asked = values[flag] === undefined ? undefined : intFlag(values, flag, 1);
  if (asked !== undefined && asked !== 1 && !model.settings.train.rotate) {
    throw new UsageError(`--${flag} ${asked}: this model was trained without rotations (parts in a fixed pose) and scores the unrotated image only; leave --${flag} out, or train with --rotate`);
  }
  return model.scoreAngles(asked ?? model.settings.testTransforms);
}
