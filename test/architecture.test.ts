/**
 * The layering that keeps unetc easy to live in, checked on the import statements of src/
 * (type-only imports included: they are how cycles creep in): no import cycles; the compiler
 * never imports the runtime or the CLI; src/util is a leaf; the runtime never imports the CLI, nor the compiler's
 * front end (syntax, yaml, lower) or its all-in-one index/pipeline (checkpoints and runs carry
 * the checked IR; the CLI lends the front end for older ones: runtime/checkpoint/graph.ts).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { root } from './helpers.js';

const src = join(root, 'src');

/** Every .ts file of a folder and the files it imports (relative imports only, resolved). */
function importGraph(dir: string): Map<string, string[]> {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) files.push(p);
    }
  };
  walk(dir);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const deps = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'(\.[^']+)'/gm)].map((m) =>
      resolve(dirname(f), m[1]!.replace(/\.js$/, '.ts')),
    );
    graph.set(
      relative(dir, f),
      deps.map((d) => relative(dir, d)),
    );
  }
  return graph;
}

/** The import cycles (strongly connected components of more than one file, or a file importing itself). */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const graph = importGraph(src);
const importsOf = (prefix: string) =>
  [...graph].filter(([f]) => f.startsWith(prefix)).flatMap(([f, deps]) => deps.map((d) => [f, d] as const));

describe('the layering of src/', () => {
  it('has no import cycles, type-only imports included', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(cycles(graph)).toEqual([]);
  });

  it('negative control: the cycle finder finds a cycle, and a self-import', () => {
    expect(
      cycles(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', ['c.ts']],
          ['c.ts', ['a.ts']],
          ['d.ts', ['a.ts']],
        ]),
      ),
    ).toEqual([['a.ts', 'b.ts', 'c.ts']]);
    expect(cycles(new Map([['a.ts', ['a.ts']]]))).toEqual([['a.ts']]);
    expect(
      cycles(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('the compiler imports neither the runtime nor the CLI', () => {
    expect(importsOf('compiler/').filter(([, d]) => d.startsWith('runtime/') || d.startsWith('cli/'))).toEqual([]);
  });

  it('src/util (Random) is a leaf below the compiler and the runtime', () => {
    expect(importsOf('util/').filter(([, d]) => !d.startsWith('util/'))).toEqual([]);
    expect(importsOf('runtime/').some(([, d]) => d === 'util/random.ts')).toBe(true);
  });

  it('the runtime never imports the CLI', () => {
    expect(importsOf('runtime/').filter(([, d]) => d.startsWith('cli/'))).toEqual([]);
  });

  it("the runtime imports the compiler's named modules, not its front end or its index", () => {
    const front = /^compiler\/(syntax|yaml|lower)\/|^compiler\/(index|pipeline)\.ts$/;
    expect(importsOf('runtime/').filter(([, d]) => front.test(d))).toEqual([]);
    // Negative control: the CLI does import the front end, and the rule would see it.
    expect(importsOf('cli/').some(([, d]) => front.test(d))).toBe(true);
  });
});

describe('the linter enforces the same layering (npm test runs eslint)', () => {
  const lint = async (file: string, code: string) => {
    const [result] = await new ESLint({ cwd: root }).lintText(code, { filePath: join(root, file) });
    return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
  };

  it('refuses upward imports and the front end from the runtime, and lets the named modules through', async () => {
    expect(
      await lint(
        'src/runtime/data/x.ts',
        "import { UsageError } from '../../cli/io.js';\nexport const u = UsageError;\n",
      ),
    ).toEqual([expect.stringMatching(/top layer/)]);
    expect(
      await lint(
        'src/runtime/data/x.ts',
        "import { compileSpec } from '../../compiler/index.js';\nexport const c = compileSpec;\n",
      ),
    ).toEqual([expect.stringMatching(/named modules/)]);
    expect(
      await lint(
        'src/runtime/data/x.ts',
        "import { parse } from '../../compiler/syntax/parser.js';\nexport const p = parse;\n",
      ),
    ).toHaveLength(1);
    expect(
      await lint(
        'src/compiler/ir/x.ts',
        "import { DataError } from '../../runtime/data/png.js';\nexport const d = DataError;\n",
      ),
    ).toEqual([expect.stringMatching(/never imports the runtime/)]);
    expect(
      await lint(
        'src/util/x.ts',
        "import { sha256 } from '../runtime/checkpoint/index.js';\nexport const s = sha256;\n",
      ),
    ).toEqual([expect.stringMatching(/leaf/)]);
    // Negative controls: imports the layering allows pass.
    expect(
      await lint(
        'src/runtime/data/x.ts',
        "import type { Graph } from '../../compiler/ir/types.js';\nimport { trainDefaults } from '../../compiler/spec/model.js';\nexport type G = Graph;\nexport const t = trainDefaults;\n",
      ),
    ).toEqual([]);
    expect(
      await lint(
        'src/cli/x.ts',
        "import { compileSpec } from '../compiler/index.js';\nimport { DataError } from '../runtime/data/png.js';\nexport const c = [compileSpec, DataError];\n",
      ),
    ).toEqual([]);
  }, 60_000);
});
