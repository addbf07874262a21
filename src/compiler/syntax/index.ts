/**
 * The DSL front end: `parseDsl` turns `.unet` text into a `SpecDocument` (the same plain value the
 * YAML form gives, with spans), `printDsl` turns a spec value back into canonical DSL text.
 */
export { parseDsl } from './parse.js';
export { printDsl } from './print.js';
export { DslParser, dslParser } from './parser.js';
export { artifactPaths, cstTypes, railroadHtml } from './artifacts.js';
