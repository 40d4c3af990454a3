// Node-only: PyTorch-generated references for the fidelity parity tests (resize, rotation, defect map, Adam).
// They are generated at test time by scripts/fixtures/make_fidelity_fixtures.py into the git-ignored
// test-fixtures/ folder, never committed. Without python3 + torch the tests fail with a message saying how to
// get them, unless DIFFERNET_SKIP_TORCH_FIXTURES=1 explicitly opts out (then they are skipped).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedDir } from './shared';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Must equal VERSION in the generator; a different one on disk is regenerated. */
export const FIDELITY_FIXTURE_VERSION = 2;

export const SKIP_ENV = 'DIFFERNET_SKIP_TORCH_FIXTURES';

export interface BinRef {
  file: string;
  dtype: 'uint8' | 'float32' | 'float64';
  shape: number[];
}

export interface FidelityManifest {
  version: number;
  torch: string;
  torchvision: string;
  resize: { cases: { source: string; width: number; height: number; expected: BinRef }[] };
  rotate: { angles_degrees: number[]; cases: { source: string; side: number; expected: BinRef }[] };
  adam: {
    config: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number };
    shapes: number[][];
    initial: number[][];
    /** params: torch's float32 result; params_float64: the same steps in float64. */
    steps: { grads: number[][]; params: number[][]; params_float64: number[][] }[];
  };
  defect_map: {
    transforms: number;
    degrees: number[];
    anomaly_score: number;
    z: number[][];
    official: BinRef;
    abs_first: BinRef;
    /** The same computation in float64, and how far torch's float32 result above is from it where it was generated. */
    float64: {
      anomaly_score: number;
      official: BinRef;
      abs_first: BinRef;
      torch_float32_error: { official: number; abs_first: number; anomaly_score: number };
    };
  };
}

export interface FidelityFixtures {
  dir: string;
  manifest: FidelityManifest;
  bin(ref: BinRef): Uint8Array | Float32Array | Float64Array;
  bytes(file: string): Uint8Array;
}

/** Where the fixtures live: $DIFFERNET_FIXTURES or test-fixtures/ in the repository. */
export function fixturesRoot(): string {
  return process.env.DIFFERNET_FIXTURES ?? path.join(repoRoot, 'test-fixtures');
}

const GENERATOR = path.join(repoRoot, 'scripts', 'fixtures', 'make_fidelity_fixtures.py');

/** A python with torch, torchvision, numpy and PIL: $DIFFERNET_PYTHON, else python3 on PATH, else Debian's. */
export function torchPython(): string | null {
  const candidates = process.env.DIFFERNET_PYTHON ? [process.env.DIFFERNET_PYTHON] : ['python3', '/usr/bin/python3'];
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch, torchvision, numpy, PIL'], { stdio: 'ignore', timeout: 60_000 });
    if (r.status === 0) return py;
  }
  return null;
}

function readManifest(dir: string): FidelityManifest | null {
  const f = path.join(dir, 'fidelity.json');
  if (!existsSync(f)) return null;
  const m = JSON.parse(readFileSync(f, 'utf8')) as FidelityManifest;
  return m.version === FIDELITY_FIXTURE_VERSION ? m : null;
}

function generate(dir: string, python: string): void {
  // Into a private folder first, then renamed: test files run in parallel processes and may race here.
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(path.dirname(dir), { recursive: true });
  execFileSync(python, [GENERATOR, '--shared', sharedDir(), '--out', tmp], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
  if (readManifest(dir)) {
    rmSync(tmp, { recursive: true, force: true });
    return;
  }
  rmSync(dir, { recursive: true, force: true });
  try {
    renameSync(tmp, dir);
  } catch (e) {
    // Another process won the race; its copy is as good as ours.
    rmSync(tmp, { recursive: true, force: true });
    if (!readManifest(dir)) throw e;
  }
}

/**
 * The fixtures, generated first if missing or stale. Null only when DIFFERNET_SKIP_TORCH_FIXTURES=1 and they
 * cannot be had; otherwise a missing python/torch throws, so a parity test never passes by not running.
 */
export function fidelityFixtures(): FidelityFixtures | null {
  const dir = path.join(fixturesRoot(), 'fidelity');
  let manifest = readManifest(dir);
  if (!manifest) {
    const python = torchPython();
    if (!python) {
      if (process.env[SKIP_ENV] === '1') return null;
      throw new Error(
        `PyTorch reference fixtures missing (${dir}) and no python3 with torch, torchvision, numpy and PIL to generate them. ` +
          `Install them (Debian: apt-get install python3-torch python3-torchvision), point DIFFERNET_PYTHON at such a python, ` +
          `or set ${SKIP_ENV}=1 to skip the PyTorch parity tests explicitly.`,
      );
    }
    generate(dir, python);
    manifest = readManifest(dir);
    if (!manifest) throw new Error(`${GENERATOR} ran but wrote no fidelity.json (version ${FIDELITY_FIXTURE_VERSION}) into ${dir}`);
  }
  const bytes = (file: string) => new Uint8Array(readFileSync(path.join(dir, file)));
  return {
    dir,
    manifest,
    bytes,
    bin(ref) {
      const b = bytes(ref.file);
      const n = ref.shape.reduce((a, x) => a * x, 1);
      // bytes() copies into a fresh buffer at offset 0, so the views are aligned.
      const out =
        ref.dtype === 'uint8'
          ? b
          : ref.dtype === 'float32'
            ? new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4)
            : new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
      if (out.length !== n) throw new Error(`${ref.file}: ${out.length} values, expected ${n} for shape [${ref.shape}]`);
      return out;
    },
  };
}
