export * from './ops.js';
export * from './infer.js';
export * from './check.js';
