/**
 * Regenerates the grammar artifacts from the DSL parser: grammar/railroad.html (the railroad
 * diagram) and src/compiler/syntax/cst.d.ts (the CST types). Run with `npm run grammar`.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { artifactPaths, cstTypes, railroadHtml } from '../src/compiler/syntax/artifacts.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
writeFileSync(join(root, artifactPaths.railroad), railroadHtml());
writeFileSync(join(root, artifactPaths.cstTypes), cstTypes());
console.log(`wrote ${artifactPaths.railroad} and ${artifactPaths.cstTypes}`);
