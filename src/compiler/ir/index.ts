export * from './types.js';
export { printGraph, opAttributes } from './print.js';
