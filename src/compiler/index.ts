/** The compiler's public API: parse, check and lower specs; analyze and format them. */
export * from './diagnostics/index.js';
export * from './ir/index.js';
export * from './spec/index.js';
export * from './shape/index.js';
export * from './analysis/index.js';
export { parseYaml } from './yaml/parse.js';
export { parseDsl, printDsl } from './syntax/index.js';
export { formatSpec, headerComments, bodyCommentCount, printYaml } from './fmt/index.js';
export { compileSpec, parseSpec, formatOf, type Compiled, type SpecFormat } from './pipeline.js';
