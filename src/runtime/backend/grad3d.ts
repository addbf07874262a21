/**
 * What a 3D U-Net (NDHWC) needs to train with tfjs 4.22 that tfjs does not ship, for every
 * engine (cpu, wasm, tfjs-node): registered by selectEngine through registerGrad3d.
 *
 * - The gradient of Conv3DBackpropInputV2, the kernel behind tf.conv3dTranspose and
 *   tf.layers.conv3dTranspose (tfjs-core registers none, so training such a layer throws
 *   "gradient function not found for Conv3DBackpropInputV2").
 * - tf.layers.batchNormalization on rank-5 inputs (tfjs-layers' batchNormalization throws
 *   "not implemented for array of rank 5"), and FusedBatchNorm's gradient for rank-5 x (tfjs-core's
 *   throws): see batchnorm3d.ts.
 * - Correct Conv3DBackpropInputV2, Conv3DBackpropFilterV2, MaxPool3D, MaxPool3DGrad and
 *   AvgPool3DGrad kernels where tfjs' are wrong (wasm; MaxPool3DGrad and AvgPool3DGrad on cpu
 *   too): see kernels3d.ts.
 */
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../../compiler/backends/tfjs/engine.js';
import { registerBatchNorm3d, registerBatchNormGrad5d } from './batchnorm3d.js';
import { registerKernels3d } from './kernels3d.js';

export { asRank4, batchNorm3dInstalled, registerBatchNorm3d, registerBatchNormGrad5d } from './batchnorm3d.js';
export { isKernel3d, kernels3d, registerKernels3d } from './kernels3d.js';

/** The kernel whose gradient this module supplies. */
export const CONV3D_BACKPROP_INPUT = 'Conv3DBackpropInputV2';

const MARK = Symbol.for('unetc.grad3d');

type Marked = GradConfig & { [MARK]?: true };

/** Attributes of tfjs' Conv3DBackpropInputV2 kernel (tfjs-core ops/conv3d_backprop_input.js). */
interface BackpropInputAttrs {
  readonly strides: [number, number, number] | number;
  readonly pad: 'valid' | 'same';
  readonly inputShape: [number, number, number, number, number];
}

/**
 * The gradient of dx = Conv3DBackpropInputV2(dy, filter) (the 3D analogue of tfjs-core's
 * Conv2DBackpropInput_grad): the kernel is the transpose of the linear map dy = conv3d(x, filter),
 * so with ddx the gradient flowing into dx,
 *
 *   d/d dy     = conv3d(ddx, filter, strides, pad)
 *   d/d filter = Conv3DBackpropFilterV2(x: ddx, dy: dy, filterShape: filter.shape)
 *
 * (the filter gradient of conv3d(ddx, filter) paired with dy; tfjs exports no
 * conv3DBackpropFilter op, so the kernel is run directly).
 */
export function conv3dBackpropInputGrad(tf: Tf): GradConfig {
  return {
    kernelName: CONV3D_BACKPROP_INPUT,
    inputsToSave: ['dy', 'filter'],
    gradFunc: (ddx: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [dy, filter] = saved as [Tensor, Tensor];
      const { strides, pad } = attrs as unknown as BackpropInputAttrs;
      const g = ddx as Tensor;
      return {
        dy: () => tf.conv3d(g as never, filter as never, strides, pad),
        filter: () =>
          tf
            .engine()
            .runKernel(
              'Conv3DBackpropFilterV2',
              { x: g, dy } as never,
              { strides, pad, filterShape: filter.shape } as never,
            ) as Tensor,
      };
    },
  };
}

/**
 * Registers the Conv3DBackpropInputV2 gradient into this tfjs namespace's (global) gradient
 * registry unless one is there already: ours from an earlier call (idempotent), or one that a
 * later tfjs ships (never overridden).
 */
export function registerConv3dTransposeGrad(tf: Tf): void {
  const existing = tf.getGradient(CONV3D_BACKPROP_INPUT) as Marked | undefined;
  if (existing) return;
  const config: Marked = { ...conv3dBackpropInputGrad(tf), [MARK]: true };
  tf.registerGradient(config);
}

/** Whether the gradient now registered for Conv3DBackpropInputV2 is ours (for tests). */
export function isOurConv3dTransposeGrad(tf: Tf): boolean {
  return (tf.getGradient(CONV3D_BACKPROP_INPUT) as Marked | undefined)?.[MARK] === true;
}

/** Everything 3D training needs beyond tfjs 4.22 (idempotent; every engine). */
export function registerGrad3d(tf: Tf): void {
  registerConv3dTransposeGrad(tf);
  registerBatchNorm3d(tf);
  registerBatchNormGrad5d(tf);
  registerKernels3d(tf);
}
