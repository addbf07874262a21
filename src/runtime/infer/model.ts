/**
 * A trained model, ready to segment: what it needs (channels, normalization, sizes it accepts)
 * read from the model itself, and a `run` that turns one tile into class probabilities. MODEL is
 * a run folder (its model.onnx), a `.onnx` file (onnxruntime-node), or a tfjs checkpoint folder
 * (model.json + weights.bin + unetc.json, run with a tfjs engine).
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { HWC, NormalizationMode } from '../data/index.js';
import type { SizeRule } from './sizes.js';
import type { Graph, SplitSettings } from '../../compiler/ir/index.js';
import { UnetcError } from '../../util/error.js';

/** How inputs are scaled before the network sees them (the `input_normalization` metadata). */
export type InputNormalization = 'zscore-per-image' | 'percentile-per-image' | 'minmax-per-image' | 'none';

export const INPUT_NORMALIZATIONS: readonly InputNormalization[] = [
  'zscore-per-image',
  'percentile-per-image',
  'minmax-per-image',
  'none',
];

/** How `graph`'s inputs are normalized: what training records in run.json and the ONNX metadata (`input_normalization`). */
export function inputNormalization(graph: Pick<Graph, 'normalize'>): 'zscore-per-image' | 'percentile-per-image' {
  return graph.normalize === 'percentile' ? 'percentile-per-image' : 'zscore-per-image';
}

/** The data module's mode for a recorded normalization. */
export function normalizationMode(n: InputNormalization): NormalizationMode {
  return n === 'none' ? 'none' : (n.slice(0, -'-per-image'.length) as NormalizationMode);
}

export type OutputActivation = 'sigmoid' | 'softmax' | 'none';

/** Everything prediction needs to know about a model. */
export interface ModelInfo {
  /** The file or folder actually loaded (model.onnx inside a run folder, best/ ...). */
  readonly path: string;
  readonly format: 'onnx' | 'tfjs';
  readonly name: string;
  readonly inputChannels: number;
  /** Output channels: 1 for a sigmoid mask, the class count for softmax. */
  readonly classes: number;
  /** The network's own output activation ('none': `run` applies sigmoid or softmax itself). */
  readonly activation: OutputActivation;
  /** Foreground threshold for binary models. */
  readonly threshold: number;
  readonly classNames: readonly string[] | undefined;
  readonly normalization: InputNormalization;
  /** The input sizes the network accepts, per axis. */
  readonly sizes: { readonly height: SizeRule; readonly width: SizeRule };
  /** [height, width] pixels the output loses on each side ('valid' convs); [0, 0] for 'same'. */
  readonly margin: readonly [number, number];
  /**
   * 'boundary': the 3 output channels are background, interior and boundary; the mask is binary
   * (1 - P(background) above the threshold) and instances are grown from the interiors.
   */
  readonly instances?: 'boundary';
  /** A boundary model's split settings, where its spec declared them (else defaultSplit). */
  readonly split?: SplitSettings;
}

/** The classes of the masks a model makes (2: background and foreground, for binary and boundary models). */
export function maskClasses(info: Pick<ModelInfo, 'classes' | 'instances'>): number {
  return info.instances ? 2 : Math.max(2, info.classes);
}

/** A loaded model. */
export interface SegmentationModel {
  readonly info: ModelInfo;
  /** For the "engine:" line: what runs it. */
  readonly engine: string;
  /**
   * Runs one tile (HWC, `info.inputChannels` channels, a size the network accepts) and returns
   * probabilities (HWC, `info.classes` channels; sigmoid or softmax applied).
   */
  run(tile: HWC<Float32Array>): Promise<HWC<Float32Array>>;
  /** Frees native memory and tensors. */
  close(): Promise<void>;
}

/** A model path that cannot be used: the message starts with the path and says why. */
export class ModelError extends UnetcError {
  constructor(path: string, problem: string, options?: { cause?: unknown }) {
    super(path, problem, options);
  }

  get path(): string {
    return this.file!;
  }
}

/** Where a MODEL argument points. */
export type ModelLocation =
  | { readonly format: 'onnx'; readonly file: string; readonly note?: string }
  | { readonly format: 'tfjs'; readonly dir: string; readonly note?: string };

const NOT_A_MODEL =
  'not a model: expected a run folder (with model.onnx), a .onnx file, or a tfjs checkpoint folder (model.json, weights.bin, unetc.json)';

/** Finds the model file or folder behind a MODEL argument; a ModelError when there is none. */
export function locateModel(path: string): ModelLocation {
  if (!existsSync(path)) throw new ModelError(path, 'no such file or folder');
  if (statSync(path).isDirectory()) {
    if (existsSync(join(path, 'model.onnx'))) return { format: 'onnx', file: join(path, 'model.onnx') };
    if (existsSync(join(path, 'model.json')) || existsSync(join(path, 'unetc.json')))
      return { format: 'tfjs', dir: path };
    // A run folder whose training stopped before the final export still has its best checkpoint,
    // or only its last one (no validation yet, or none at all).
    for (const which of ['best', 'last'])
      if (existsSync(join(path, which, 'unetc.json')))
        return {
          format: 'tfjs',
          dir: join(path, which),
          note: `no model.onnx in the run folder; using its ${which}/ checkpoint`,
        };
    throw new ModelError(path, NOT_A_MODEL);
  }
  const name = basename(path);
  if (name === 'model.json' || name === 'unetc.json') return { format: 'tfjs', dir: dirname(path) };
  return { format: 'onnx', file: path };
}

/** Applies sigmoid (one channel) or softmax (several) in place: for networks that output logits. */
export function activate(data: Float32Array, channels: number): void {
  if (channels === 1) {
    for (let i = 0; i < data.length; i++) data[i] = 1 / (1 + Math.exp(-data[i]!));
    return;
  }
  for (let p = 0; p < data.length; p += channels) {
    let max = -Infinity;
    for (let c = 0; c < channels; c++) max = Math.max(max, data[p + c]!);
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += data[p + c] = Math.exp(data[p + c]! - max);
    for (let c = 0; c < channels; c++) data[p + c] = data[p + c]! / sum;
  }
}

/** Checks a normalization name read from a model; a ModelError naming `path` otherwise. */
export function parseNormalization(value: string, path: string): InputNormalization {
  const found = INPUT_NORMALIZATIONS.find((n) => n === value);
  if (!found)
    throw new ModelError(
      path,
      `unknown input_normalization '${value}' (this unetc knows ${INPUT_NORMALIZATIONS.join(', ')})`,
    );
  return found;
}
