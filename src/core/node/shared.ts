// Node-only: where the read-only shared material (reference files, weights, datasets; never copied into the
// repository) lives. Used by the benchmark as well as by tests, so it is not test support.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Root of the shared material: $DIFFERNET_SHARED, or ../shared beside the repository. */
export function sharedDir(): string {
  return process.env.DIFFERNET_SHARED ?? path.resolve(repoRoot, '../shared');
}

export function sharedPath(...parts: string[]): string {
  const p = path.join(sharedDir(), ...parts);
  if (!existsSync(p)) {
    throw new Error(`Shared test material missing: ${p} (set DIFFERNET_SHARED to the folder holding reference/, weights/, datasets/)`);
  }
  return p;
}

export function readShared(...parts: string[]): Uint8Array {
  return new Uint8Array(readFileSync(sharedPath(...parts)));
}
