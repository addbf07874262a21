import { cropLayerClass } from './crop.js';
import type { Tf } from './engine.js';
import { seLayerClasses } from './se.js';

/**
 * Registers every custom layer class unetc models use (center crop, squeeze-excitation's
 * global pooling and channel scale) in `tf`'s serialization map, so tf.loadLayersModel can
 * rebuild a saved model.json. Idempotent.
 */
export function registerLayers(tf: Tf): void {
  cropLayerClass(tf);
  seLayerClasses(tf);
}
