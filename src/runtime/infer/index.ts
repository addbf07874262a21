/** Inference engines for exported models. */
export * from './onnx.js';
