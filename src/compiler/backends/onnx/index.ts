/**
 * The ONNX back end: `exportOnnx(graph, weights, options)` writes a deterministic ModelProto
 * (NCHW, symbolic N/H/W, opset 13..17, metadata describing how to use it); `summarizeOnnx`
 * and `countInitializerValues` read one back.
 */
export { exportOnnx, exportOnnxDetailed, foldablePairs, type OnnxExport, type OnnxOptions } from './export.js';
export {
  countInitializerValues,
  onnxProducer,
  summarizeOnnx,
  type OnnxSummary,
  type NodeSummary,
  type AttrSummary,
} from './inspect.js';
export { irVersionFor, DEFAULT_OPSET, SUPPORTED_OPSETS } from './versions.js';
export { weightsSha256, sourceSha256 } from './metadata.js';
