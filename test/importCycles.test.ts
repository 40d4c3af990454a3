// No import cycles in the UI: a store that needs another's action goes through a service above both
// (src/app/services), never back and forth. (madge --circular agrees with this walk; it is not a dependency.)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importCycles, importGraph } from './importCycles';

const root = path.resolve(import.meta.dirname, '..');
const rel = (dir: string) => (groups: string[][]) => groups.map((g) => g.map((f) => path.relative(dir, f)));

describe('import cycles', () => {
  it('src/app has none', () => {
    const app = path.join(root, 'src/app');
    const graph = importGraph(app);
    expect(graph.size).toBeGreaterThan(50);
    expect(rel(app)(importCycles(graph))).toEqual([]);
  });

  const tmp = mkdtempSync(path.join(tmpdir(), 'cycles-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('finds a cycle through a type-only import and an index, and leaves a chain alone', () => {
    mkdirSync(path.join(tmp, 'stores'));
    mkdirSync(path.join(tmp, 'persistence'));
    writeFileSync(path.join(tmp, 'stores/a.ts'), "import { b } from '../persistence';\nexport type A = number;\nexport const a = b;\n");
    writeFileSync(path.join(tmp, 'persistence/index.ts'), "export * from './b';\n");
    writeFileSync(path.join(tmp, 'persistence/b.ts'), "import type { A } from '../stores/a';\nexport const b: A = 1;\n");
    writeFileSync(path.join(tmp, 'c.tsx'), "import { a } from './stores/a';\nexport const c = a;\n");
    writeFileSync(path.join(tmp, 'c.test.ts'), "import { c } from './c';\nimport './c.test';\nexport const d = c;\n");
    expect(rel(tmp)(importCycles(importGraph(tmp)))).toEqual([[path.normalize('persistence/b.ts'), path.normalize('persistence/index.ts'), path.normalize('stores/a.ts')]]);
  });
});
