/**
 * The TensorFlow.js backend: IR graph -> tf.LayersModel (functional layers API, NHWC), and
 * weights by name. The tfjs namespace is always a parameter (see Tf): this module imports no engine.
 */
export { buildModel, mainOutput, type BuildOptions } from './build.js';
export { CROP_CLASS_NAME, cropLayerClass, cropOffset, type CropLayerClass } from './crop.js';
export { bindEngine, engineOf, type Tf } from './engine.js';
export { GLOBAL_POOL_CLASS_NAME, SCALE_CLASS_NAME, seLayerClasses, type SeLayerClasses } from './se.js';
export { registerLayers } from './register.js';
export { getWeights, setWeights } from './weights.js';
