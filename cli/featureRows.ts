import type { CopySpec } from '../src/core/internal';
import { mapLimit } from './parallel';
import type { EnginePool } from './pool/pool';
import { ProgressBar } from './progressBar';

export class ImageJobError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

/** Feature rows of each image's copies, computed across the pool; an unreadable image fails with its name. */
export async function featureRowsOf(pool: EnginePool, paths: string[], specsFor: (i: number) => CopySpec[], label: string, quiet: boolean): Promise<Float32Array[]> {
  const bar = new ProgressBar(label, paths.length, 'img', quiet);
  let done = 0;
  const rows = await mapLimit(paths, pool.size * 2, async (p, i) => {
    const r = await pool.run({ kind: 'copies', imagePath: p, specs: specsFor(i) });
    if (!r.ok) throw new ImageJobError(p, r.error);
    if (r.kind !== 'copies') throw new Error('unexpected job result');
    bar.update(++done);
    return r.rows;
  });
  bar.done();
  return rows;
}
