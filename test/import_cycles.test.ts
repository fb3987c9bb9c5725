/**
 * No import cycles in src/: every relative import (static, `import type`, re-exports and
 * dynamic `import()`) of every src/**\/*.ts file is an edge; a depth-first search reports
 * the first cycle found as a path of files.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/files.js';

const SRC = join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Relative specifiers a file imports, resolved to .ts paths. */
function importsOf(file: string, text: string): string[] {
  const specs = [
    ...text.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]/g),
    ...text.matchAll(/(?:^|[\s;])import\s*['"]([^'"]+)['"]/g),
    ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!);
  return specs.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') return [...stack.slice(stack.indexOf(next)), next];
      if (state.get(next) === undefined) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    if (state.get(node) !== undefined) continue;
    const found = visit(node);
    if (found) return found;
  }
  return undefined;
}

describe('import graph of src/', () => {
  it('the cycle finder finds a planted cycle and accepts a DAG', () => {
    expect(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
        ]),
      ),
    ).toEqual(['a', 'b', 'c', 'a']);
    expect(
      findCycle(
        new Map([
          ['a', ['b', 'c']],
          ['b', ['c']],
          ['c', []],
        ]),
      ),
    ).toBeUndefined();
    const text =
      "import { x } from './x.js';\nimport type { Y } from '../y.js';\nexport { z } from './z.js';\nconst m = await import('./m.js');\nimport 'node:fs';";
    expect(importsOf('/r/src/a.ts', text)).toEqual(['/r/src/x.ts', '/r/y.ts', '/r/src/z.ts', '/r/src/m.ts']);
  });

  it('has no cycles, counting type-only and dynamic imports', () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(40);
    const graph = new Map(files.map((f) => [f, importsOf(f, readFileSync(f, 'utf8'))]));
    const known = new Set(files);
    for (const [f, deps] of graph) for (const d of deps) expect(known.has(d), `${relative(ROOT, f)} imports missing ${relative(ROOT, d)}`).toBe(true);
    const cycle = findCycle(graph);
    expect(cycle?.map((f) => relative(SRC, f)).join(' -> ')).toBeUndefined();
  });
});
