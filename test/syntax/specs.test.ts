import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { JsonValue } from '../../src/compiler/spec/document.js';
import { printDsl } from '../../src/compiler/syntax/index.js';
import { parseOk } from './helpers.js';
import { normalizeForDsl } from './normalize.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const yamlFiles = ['specs', 'examples'].flatMap((dir) =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => `${dir}/${f}`),
);

// The shipped specs: the DSL and YAML forms must agree, and every YAML spec must have a DSL form.
describe('shipped specs', () => {
  it('specs/unet.unet gives the same value as specs/unet.yaml', () => {
    expect(parseOk(read('specs/unet.unet'), 'specs/unet.unet').value).toEqual(parseYaml(read('specs/unet.yaml')));
  });

  it.each(yamlFiles)('%s round trips through the DSL', (path) => {
    const value = parseYaml(read(path)) as JsonValue;
    expect(parseOk(printDsl(value), path).value).toEqual(normalizeForDsl(value));
  });
});
