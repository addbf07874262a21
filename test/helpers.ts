import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compileSpec, formatOneLine, type Compiled, type Source } from '../src/compiler/index.js';

export const root = new URL('..', import.meta.url).pathname;

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
