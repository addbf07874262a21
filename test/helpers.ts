import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { compileSpec, formatOneLine, type Compiled, type Source } from '../src/compiler/index.js';

export const root = new URL('..', import.meta.url).pathname;

const scratch: string[] = [];
// Each test file gets its own copy of this module: its scratch folders go when its tests end.
afterAll(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new empty folder under the system's temporary folder, removed when the test file's tests end. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

/** Every shipped spec: specs/ and examples/, YAML and DSL. */
export function shippedSpecs(): string[] {
  return ['specs', 'examples'].flatMap((dir) =>
    readdirSync(join(root, dir))
      .filter((f) => /\.(ya?ml|unet)$/.test(f))
      .sort()
      .map((f) => `${dir}/${f}`),
  );
}

export function readSpec(path: string): Source {
  return { name: path, body: readFileSync(join(root, path), 'utf8') };
}

export function compileFile(path: string): Compiled {
  return compileSpec(readSpec(path));
}

/** Compiles text under a file name (the extension picks the front end); returns one-line diagnostics. */
export function diagnosticsOf(name: string, body: string): string[] {
  return compileSpec({ name, body }).diagnostics.map(formatOneLine);
}
