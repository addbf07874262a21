/**
 * The TensorFlow.js backend: IR graph -> tf.LayersModel (functional layers API, NHWC), and
 * weights by name. The tfjs namespace is always a parameter (see Tf): this module imports no engine.
 */
export { buildModel, type BuildOptions } from './build.js';
export { CROP_CLASS_NAME, cropLayerClass, cropOffset, type CropLayerClass } from './crop.js';
export { bindEngine, engineOf, type Tf } from './engine.js';
export { getWeights, setWeights } from './weights.js';
