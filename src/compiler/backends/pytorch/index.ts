/**
 * The PyTorch back end: `exportPytorch(graph, weights, options)` gives a readable, deterministic
 * Python module for the graph and its weights in a pickle-free format (see emit.ts).
 */
export { exportPytorch, type PytorchExport, type PytorchOptions } from './export.js';
export { className, emitPytorchSource, MANIFEST_FILE, MODULE_FILE, WEIGHTS_FILE, WEIGHTS_FORMAT } from './emit.js';
export { pythonNames } from './names.js';
