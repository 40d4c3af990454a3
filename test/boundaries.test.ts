// The lint rules trust a list of TF-free engine modules the UI may import values from: this walks their value
// imports, transitively, and fails if any of them reaches TensorFlow.js or a Node built-in.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const core = path.join(root, 'src/core');

function resolve(from: string, spec: string): string | null {
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [`${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts')]) if (existsSync(c) && statSync(c).isFile()) return c;
  return null;
}

/** Value imports and re-exports of a file (`import type` / `export type` are erased and do not count). */
function valueImports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of src.matchAll(/^\s*(import|export)\s+([^;]*?)\s*from\s+'([^']+)'/gms)) {
    const clause = m[2];
    if (/^type\s/.test(clause)) continue;
    const braces = clause.match(/^\{([^}]*)\}$/);
    if (braces && braces[1].split(',').every((s) => !s.trim() || /^type\s/.test(s.trim()))) continue;
    out.push(m[3]);
  }
  for (const m of src.matchAll(/^\s*import\s+'([^']+)'/gm)) out.push(m[1]);
  return out;
}

const NODE = new Set(builtinModules);

/** The first forbidden import reachable from `file`, as a chain, or null. */
function forbidden(file: string, seen = new Set<string>()): string | null {
  if (seen.has(file)) return null;
  seen.add(file);
  for (const spec of valueImports(file)) {
    if (spec.startsWith('@tensorflow/') || spec.startsWith('node:') || NODE.has(spec.split('/')[0])) return `${path.relative(root, file)} -> ${spec}`;
    if (!spec.startsWith('.')) continue;
    const target = resolve(file, spec);
    if (!target) throw new Error(`${file}: cannot resolve ${spec}`);
    const chain = forbidden(target, seen);
    if (chain) return `${path.relative(root, file)} -> ${chain}`;
  }
  return null;
}

function filesOf(entry: string): string[] {
  if (entry.endsWith('/*')) {
    const dir = path.join(core, entry.slice(0, -2));
    return readdirSync(dir)
      .filter((f) => /\.tsx?$/.test(f) && !/\.test\.tsx?$/.test(f))
      .map((f) => path.join(dir, f));
  }
  const f = resolve(path.join(core, 'x.ts'), `./${entry}`);
  if (!f) throw new Error(`src/core/${entry} does not exist`);
  return [f];
}

describe('import boundaries', () => {
  it('every engine module the UI may import values from is free of TF.js and Node', async () => {
    const config = (await import(path.join(root, 'eslint.config.js') as string)) as { APP_CORE_ALLOWED: string[] };
    expect(config.APP_CORE_ALLOWED.length).toBeGreaterThan(5);
    const problems = config.APP_CORE_ALLOWED.flatMap(filesOf)
      .map((f) => forbidden(f))
      .filter((c): c is string => c !== null);
    expect(problems).toEqual([]);
  });

  it('the check sees TF.js behind an index', () => {
    expect(forbidden(path.join(core, 'index.ts'))).toMatch(/@tensorflow\/tfjs/);
    expect(forbidden(path.join(core, 'node/shared.ts'))).toMatch(/node:fs/);
  });
});
