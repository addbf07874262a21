/**
 * unetc-layers.js: what a stock TensorFlow.js (4.x) needs to load a unetc tfjs export.
 *
 *   import * as tf from '@tensorflow/tfjs';            // or the tf global of tf.min.js
 *   import { registerUnetcLayers } from './unetc-layers.js';
 *   registerUnetcLayers(tf);
 *   const model = await tf.loadLayersModel('model.json');
 *
 * It registers the three layer classes unetc's model.json may name (UnetcCenterCrop for
 * 'valid'-padding networks, UnetcGlobalAvgPool and UnetcChannelScale for squeeze-excitation and
 * attention gates), and lets BatchNormalization take rank-5 (NDHWC) inputs, which tfjs 4.22
 * refuses ("batchNormalization is not implemented for array of rank 5"): 3D networks. It mirrors
 * unetc's own code (src/compiler/backends/tfjs/crop.ts, se.ts; src/runtime/backend/batchnorm3d.ts);
 * a test loads every shipped spec's export with it in headless Chromium and checks the output
 * against onnxruntime. Idempotent; no other dependency.
 */

const done = new WeakSet();

/** Registers unetc's layers in the tfjs namespace `tf`. */
export function registerUnetcLayers(tf) {
  if (done.has(tf)) return;
  done.add(tf);

  // Crops inputs[0] to the spatial size of inputs[1], dropping floor((src - ref) / 2) at the start.
  class UnetcCenterCrop extends tf.layers.Layer {
    static className = 'UnetcCenterCrop';
    computeOutputShape(inputShape) {
      const [src, ref] = inputShape;
      return [src[0], ...ref.slice(1, -1), src[src.length - 1]];
    }
    call(inputs) {
      const [src, ref] = inputs;
      const s = src.shape.slice(1, -1);
      const r = ref.shape.slice(1, -1);
      return tf.slice(src, [0, ...s.map((n, i) => Math.floor((n - r[i]) / 2)), 0], [-1, ...r, -1]);
    }
  }

  // The mean over the spatial axes, kept as size 1: [N, 1, 1, C] (or [N, 1, 1, 1, C]).
  class UnetcGlobalAvgPool extends tf.layers.Layer {
    static className = 'UnetcGlobalAvgPool';
    computeOutputShape(inputShape) {
      const s = Array.isArray(inputShape[0]) ? inputShape[0] : inputShape;
      return [s[0], ...s.slice(1, -1).map(() => 1), s[s.length - 1]];
    }
    call(inputs) {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      return tf.mean(x, x.shape.slice(1, -1).map((_, i) => i + 1), true);
    }
  }

  // inputs[0] times inputs[1], broadcast ([N, 1, 1, C] or [N, H, W, 1]).
  class UnetcChannelScale extends tf.layers.Layer {
    static className = 'UnetcChannelScale';
    computeOutputShape(inputShape) {
      return inputShape[0];
    }
    call(inputs) {
      return tf.mul(inputs[0], inputs[1]);
    }
  }

  tf.serialization.registerClass(UnetcCenterCrop);
  tf.serialization.registerClass(UnetcGlobalAvgPool);
  tf.serialization.registerClass(UnetcChannelScale);

  // BatchNormalization on rank 5: per-channel statistics do not change when two other axes are
  // merged, so [N, D, H, W, C] runs as [N, D*H, W, C] and is reshaped back.
  const entry = tf.serialization.SerializationMap.getMap().classNameMap.BatchNormalization;
  const proto = entry && entry[0] && entry[0].prototype;
  if (proto && typeof proto.call === 'function') {
    const original = proto.call;
    proto.call = function (inputs, kwargs) {
      const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs;
      if (!x || x.rank !== 5) return original.call(this, inputs, kwargs);
      const axis = this.axis < 0 ? this.axis + 5 : this.axis;
      if (axis !== 4) return original.call(this, inputs, kwargs);
      const [n, d, h, w, c] = x.shape;
      const saved = this.axis;
      this.axis = 3;
      try {
        return tf.tidy(() => {
          const y = original.call(this, tf.reshape(x, [n, d * h, w, c]), kwargs);
          return tf.reshape(Array.isArray(y) ? y[0] : y, x.shape);
        });
      } finally {
        this.axis = saved;
      }
    };
  }
}
