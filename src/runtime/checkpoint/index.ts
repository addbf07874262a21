/**
 * Checkpoints without tfjs-node: a directory holding model.json + weights.bin (the standard tfjs
 * layers-model format, loadable by tf.loadLayersModel in Node and the browser) and unetc.json
 * (the spec, seed, hashes and versions that produced it).
 */
export { CheckpointError } from './error.js';
export { checkpointIOHandler, loadCheckpoint, readCheckpointManifest, type Checkpoint } from './load.js';
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  checkSpecMatches,
  FILES,
  readVerified,
  sha256,
  UNETC_VERSION,
  type CheckpointInfo,
  type CheckpointManifest,
} from './manifest.js';
export { saveCheckpoint, type SaveOptions } from './save.js';
export { lendSpecCompiler, recordedGraph, type NetworkRecord, type SpecCompiler } from './graph.js';
