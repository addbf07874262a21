/**
 * Data for training and prediction: the built-in synthetic nuclei, PNG reading and writing, data
 * folders (`images/`, `masks/`, `labels/`), augmentation and per-image normalization. Plain
 * TypeScript over typed arrays: nothing here depends on a tensor library.
 */
export {
  generateSample,
  generateDataset,
  type Scene,
  type SyntheticOptions,
  type SyntheticSample,
} from './synthetic.js';
export { DataError } from '../../util/error.js';
export {
  decodeImage,
  decodeMask,
  readImage,
  readMask,
  type MaskEncoding,
  type PngBitDepth,
  type PngImage,
  type PngMask,
} from './png.js';
export {
  encodeGray,
  encodeLabels,
  encodeMask,
  writeGray,
  writeLabels,
  writeMask,
  type GrayRaster,
} from './png-write.js';
export { makeFolder, writeFileAtomic, writeFileAtomicSync } from './atomic.js';
export { claimOutputs, guardOutputs, outputClash, outputsInTheWay, OUTPUTS_FILE, recordOutputs } from './outputs.js';
export {
  formatProblems,
  maskValueProblem,
  scanDataset,
  type DataProblem,
  type DatasetSample,
  type ScanOptions,
  type ScanResult,
} from './folder.js';
export { loadSample, toChannels, type LoadedSample } from './sample.js';
export {
  crop,
  elasticField,
  flip,
  flipAxis,
  quarterTurns,
  reflectIndex,
  rotate90,
  transpose,
  warp,
  type DisplacementField,
  type HWC,
} from './geometry.js';
export {
  augment,
  applyAugmentation,
  augmentIntensity,
  finishInput,
  planAugmentation,
  type AugmentOptions,
  type AugmentPlan,
  type ElasticOptions,
  type IntensityReference,
} from './augment.js';
export {
  applyNormalization,
  nonFiniteCount,
  normalize,
  normalizationParams,
  type NormalizationMode,
  type NormalizationParams,
  type NormalizationSettings,
} from './normalize.js';
