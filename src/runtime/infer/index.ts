/**
 * Inference: loading a trained model (a run folder, an ONNX file or a tfjs checkpoint), running it
 * on images of any size (padding, overlapping tiles, blending), and instances from its masks.
 */
export * from './onnx.js';
export {
  activate,
  locateModel,
  maskClasses,
  ModelError,
  INPUT_NORMALIZATIONS,
  type InputNormalization,
  type ModelInfo,
  type ModelLocation,
  type OutputActivation,
  type SegmentationModel,
} from './model.js';
export { chwToHwc, hwcToChw, loadOnnxModel } from './onnx-model.js';
export { loadTfjsModel } from './tfjs-model.js';
export { fromList, parseSizeText, parseValidSizes, progression, type SizeRule } from './sizes.js';
export {
  DEFAULT_TILE,
  planAxis,
  planTiles,
  runTiled,
  tileAdvice,
  TilingError,
  type AxisPlan,
  type AxisTile,
  type TileRunner,
  type TilingOptions,
} from './tiling.js';
export {
  areaSummary,
  connectedComponents,
  removeSmall,
  type Component,
  type InstanceOptions,
  type Instances,
} from './instances.js';
export {
  classMapOf,
  foregroundPlane,
  instancesOf,
  minInstanceSize,
  isBinary,
  loadModel,
  modelInput,
  predictImage,
  probabilityPlane,
  type LoadOptions,
  type PredictOptions,
  type Prediction,
} from './predict.js';
export { boundaryTargets, splitInstances } from './boundary.js';
