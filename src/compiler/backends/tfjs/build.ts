import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import { assertNever, type Graph, type Op, type Spatial } from '../../ir/index.js';
import { cropLayerClass } from './crop.js';
import { bindEngine, type Tf } from './engine.js';
import { seLayerClasses } from './se.js';

/** Options for buildModel. */
export interface BuildOptions {
  /** Overrides graph.inputSize: a fixed [height, width] ([depth, height, width] in 3D), or 'any' for a model that takes any size. */
  readonly inputSize?: 'any' | Spatial;
  /** The model's name (default: the graph's name). */
  readonly name?: string;
}

type Layer = InstanceType<Tf['layers']['Layer']>;

/**
 * Builds a tfjs LayersModel (functional API, NHWC) from a checked IR graph. Every layer is named
 * after its IR op, so weights come out as `${op}/kernel`, `${op}/gamma`, ... exactly as in a
 * WeightMap. Initializers are zeros/ones: weights are meant to be set after building (setWeights).
 */
export function buildModel(tf: Tf, graph: Graph, options: BuildOptions = {}): LayersModel {
  const size = options.inputSize ?? graph.inputSize;
  const spatial = size === 'any' ? Array.from({ length: graph.dims }, () => null) : [...size];
  const tensors = new Map<string, SymbolicTensor>();
  let output: SymbolicTensor | undefined;
  for (const op of graph.ops) {
    const ins = op.inputs.map((n) => {
      const t = tensors.get(n);
      if (!t)
        throw new Error(
          `buildModel: op '${op.name}' reads '${n}', which has no tensor yet (the IR must be in topological order)`,
        );
      return t;
    });
    if (op.kind === 'Input') {
      tensors.set(op.name, tf.input({ shape: [...spatial, op.channels], name: 'input' }));
      continue;
    }
    if (op.kind === 'Output') {
      // No layer: the model's output is the tensor the Output marker reads.
      output = ins[0];
      tensors.set(op.name, ins[0]!);
      continue;
    }
    tensors.set(op.name, applyLayers(tf, op, ins, graph.dims));
  }
  const input = tensors.get(graph.ops.find((op) => op.kind === 'Input')?.name ?? '');
  if (!input || !output) throw new Error(`buildModel: graph '${graph.name}' needs an Input and an Output op`);
  // Deep supervision: the heads are further outputs after the main one (model.outputs[0]).
  const aux = (graph.deepSupervision?.heads ?? []).map((h) => tensors.get(h.op)!);
  const model = tf.model({
    inputs: input,
    outputs: aux.length > 0 ? [output, ...aux] : output,
    name: options.name ?? graph.name,
  });
  bindEngine(model, tf);
  return model;
}

// tfjs-layers' typings name 2-tuples; its 3D layers take 3-tuples through the same fields.
const pair = (p: Spatial): [number, number] => [...p] as [number, number];

function applyLayers(
  tf: Tf,
  op: Exclude<Op, { kind: 'Input' | 'Output' }>,
  ins: SymbolicTensor[],
  dims: 2 | 3,
): SymbolicTensor {
  const is3d = dims === 3;
  const x = ins[0]!;
  const name = op.name;
  const apply = (layer: Layer, input: SymbolicTensor | SymbolicTensor[] = x) => layer.apply(input) as SymbolicTensor;
  switch (op.kind) {
    case 'Conv':
      return apply(
        (is3d ? tf.layers.conv3d : tf.layers.conv2d)({
          name,
          filters: op.channels,
          kernelSize: pair(op.kernel),
          strides: pair(op.stride),
          padding: op.padding,
          useBias: op.bias,
          kernelInitializer: 'zeros',
        }),
      );
    case 'ConvTranspose': {
      return apply(
        (is3d ? tf.layers.conv3dTranspose : tf.layers.conv2dTranspose)({
          name,
          filters: op.channels,
          kernelSize: pair(op.kernel),
          strides: pair(op.stride),
          padding: op.padding,
          useBias: op.bias,
          kernelInitializer: 'zeros',
        }),
      );
    }
    case 'BatchNorm':
      return apply(tf.layers.batchNormalization({ name, axis: -1, epsilon: op.epsilon, momentum: op.momentum }));
    case 'Activation':
      return apply(activationLayer(tf, name, op.fn, op.alpha));
    case 'Dropout':
      return apply(tf.layers.dropout({ name, rate: op.rate }));
    case 'Pool': {
      const args = { name, poolSize: pair(op.size), strides: pair(op.stride), padding: 'valid' as const };
      if (is3d)
        return apply(
          op.mode === 'max' ? tf.layers.maxPooling3d(args as never) : tf.layers.averagePooling3d(args as never),
        );
      return apply(op.mode === 'max' ? tf.layers.maxPooling2d(args) : tf.layers.averagePooling2d(args));
    }
    case 'Upsample':
      // The semantic checks refuse resize-upsampling in 3D (tfjs-layers has no UpSampling3D).
      if (is3d) throw new Error(`buildModel: '${name}': tfjs has no 3D upsampling layer; use transposed convolutions`);
      return apply(tf.layers.upSampling2d({ name, size: pair(op.scale), interpolation: op.mode }));
    case 'Concat':
      return apply(tf.layers.concatenate({ name, axis: -1 }), ins);
    case 'Add':
      return apply(tf.layers.add({ name }), ins);
    case 'Crop':
      return apply(new (cropLayerClass(tf))({ name }), ins);
    case 'GlobalAvgPool':
      return apply(new (seLayerClasses(tf).GlobalAvgPool)({ name }));
    case 'Multiply':
      return apply(new (seLayerClasses(tf).ChannelScale)({ name }), ins);
    default:
      return assertNever(op);
  }
}

function activationLayer(tf: Tf, name: string, fn: Extract<Op, { kind: 'Activation' }>['fn'], alpha: number): Layer {
  switch (fn) {
    case 'relu':
    case 'sigmoid':
      return tf.layers.activation({ name, activation: fn });
    case 'softmax':
      // Over channels: the last axis in NHWC.
      return tf.layers.softmax({ name, axis: -1 });
    case 'leaky-relu':
      return tf.layers.leakyReLU({ name, alpha });
    case 'elu':
      // tfjs-layers' ELU throws NotImplementedError for any alpha but 1; say so at build time.
      if (alpha !== 1) throw new Error(`buildModel: '${name}': tfjs supports ELU only with alpha 1, found ${alpha}`);
      return tf.layers.elu({ name });
    default:
      return assertNever(fn);
  }
}

/**
 * The main prediction of a model's output: the tensor itself, or the first of several (a
 * deep-supervision model's heads follow the main one). Disposes nothing: call it inside tidy.
 */
export function mainOutput<T>(out: T | T[]): T {
  return Array.isArray(out) ? out[0]! : out;
}
