/**
 * The spec value after schema validation, typed. Field names follow the YAML form; every optional
 * field has its default in `defaults` below, applied when lowering (never written back).
 */
/** n on every spatial axis, or one size per axis ([h, w] in 2D, [d, h, w] in 3D). */
export type Kernel = number | readonly number[];
export type Step = 'conv' | 'relu' | 'leaky-relu' | 'elu' | 'batchnorm' | 'dropout';

export interface BlockTemplate {
  readonly convs?: number;
  readonly kernel?: Kernel;
  readonly padding?: 'same' | 'valid';
  readonly order?: readonly Step[];
  readonly dropout?: number | readonly number[];
  readonly dropout_at?: 'conv' | 'block';
  readonly bias?: boolean;
  readonly leaky_alpha?: number;
  readonly bn_epsilon?: number;
  readonly bn_momentum?: number;
  readonly residual?: boolean;
  readonly se?: number;
}

export interface BlockOverride {
  readonly filters?: number;
  readonly convs?: number;
  readonly kernel?: Kernel;
  readonly padding?: 'same' | 'valid';
  readonly order?: readonly Step[];
  readonly dropout?: number;
  readonly dropout_at?: 'conv' | 'block';
  readonly bias?: boolean;
  readonly residual?: boolean;
  readonly se?: number;
  /** Encoder blocks: the down-sampling factor after the block. */
  readonly pool?: Kernel;
}

export interface NetworkSpec {
  readonly depth: number;
  readonly filters: readonly number[] | { readonly base: number; readonly growth?: number };
  readonly bottleneck?: number;
  readonly block?: BlockTemplate;
  readonly down?: 'maxpool' | 'avgpool' | 'conv';
  /** Down-sampling factor of every level: n, or one per axis. */
  readonly pool?: Kernel;
  readonly up?: 'transpose' | 'nearest' | 'bilinear';
  readonly skip?: 'concat' | 'add' | 'none';
  /** Attention gates (Oktay et al. 2018) on the skips. */
  readonly attention?: boolean;
  /** Deep supervision: true (every decoder level below the top) or the number of levels. */
  readonly deep_supervision?: boolean | number;
  readonly blocks?: { readonly [name: string]: BlockOverride };
}

export interface NodeSpec {
  readonly name: string;
  readonly op: string;
  readonly inputs?: readonly string[];
  readonly [attr: string]: unknown;
}

export type LossName = 'bce' | 'dice' | 'bce-dice' | 'focal' | 'tversky' | 'ce' | 'ce-dice';
export type ScheduleName = 'constant' | 'cosine' | 'poly';

/** Elastic deformation: a smooth random displacement field from a grid of control points. */
export interface ElasticSpec {
  /** Control points per side (default 3). */
  readonly grid?: number;
  /** Standard deviation of the control-point displacements, in pixels (default 10). */
  readonly sigma?: number;
  /** A multiplier on the displacements (default 1; 0 turns the deformation into the identity). */
  readonly alpha?: number;
}

/** Random changes to training patches (`train.augment`); each is off unless given. */
export interface AugmentSpec {
  readonly flip?: boolean;
  /** Rotations by multiples of 90 degrees; non-square patches only get 0 or 180 to keep their shape. */
  readonly rotate90?: boolean;
  readonly elastic?: boolean | ElasticSpec;
  /** Brightness shift in [-i, i] (in units of the image's normalization scale) and contrast factor in [1-i, 1+i]. */
  readonly intensity?: number;
  /** Gamma log-uniform in [e^-g, e^g], on the patch rescaled to [0, 1] between its min and max (normalized values). */
  readonly gamma?: number;
  /** Gaussian noise with a standard deviation drawn in [0, noise]. */
  readonly noise?: number;
  /** Random zoom by a factor drawn log-uniformly in [1/scale, scale] (scale > 1; 2 gives 0.5x to 2x). */
  readonly scale?: number;
  /** Probability of inverting the intensities (dark objects on a light ground, as in brightfield). */
  readonly invert?: number;
  /** Gaussian blur with a sigma drawn in [0, blur] pixels (out-of-focus images). */
  readonly blur?: number;
  /** Colour images: a gain in [1-c, 1+c] and an offset in [-c, c] per channel (stain and colour jitter). */
  readonly color?: number;
  /** Colour images: the probability of replacing the colours by their gray value (Rec. 601 luma). */
  readonly gray?: number;
}

/** `train:` as the schema admits it; `trainDefaults` holds what an absent field means. */
export interface TrainSpec {
  readonly loss?: LossName;
  readonly optimizer?: 'adam' | 'sgd';
  readonly learning_rate?: number;
  readonly momentum?: number;
  readonly weight_decay?: number;
  readonly schedule?: ScheduleName;
  readonly epochs?: number;
  /** A duration ('5m', '1h30m') or seconds. */
  readonly time?: string | number;
  readonly warmup?: number;
  /** Boundary heads: the cross-entropy weight of outline pixels where two instances touch. */
  readonly contact_weight?: number;
  readonly steps_per_epoch?: number;
  readonly batch?: number;
  readonly patch?: readonly number[];
  readonly val_split?: number;
  readonly early_stopping?: number;
  readonly seed?: number;
  readonly augment?: AugmentSpec;
}

/**
 * What an absent `train:` field means: the one place training defaults live (the runtime resolves
 * a spec's train section against these, once, into its training settings). The recipe is the one
 * that gave the best masks for a 5-minute budget on the DSB nuclei (npm run bench -- --quality;
 * README): Adam at 0.003 with a 5% linear warm-up and cosine decay, batch 4. 0.001 scored 0.02
 * Dice lower at the same budget; 0.005 no better; batch 8 and batch 2 both worse.
 * Fields whose default depends on the network (loss, patch, augment) are the functions of
 * `runtime/train/settings.ts`; `steps_per_epoch` defaults to one pass over the training images.
 */
export const trainDefaults = {
  optimizer: 'adam',
  learning_rate: 3e-3,
  /** SGD's momentum (0: plain SGD). */
  momentum: 0,
  weight_decay: 0,
  schedule: 'cosine',
  warmup: 0.05,
  /** 1: the contact pixels between touching instances weigh as much as the others. */
  contact_weight: 1,
  epochs: 10,
  batch: 4,
  val_split: 0.2,
  seed: 0,
} as const;

export interface SpecValue {
  readonly unetc?: 1;
  readonly name: string;
  readonly description?: string;
  readonly input: {
    readonly channels: number;
    readonly dims?: 2 | 3;
    readonly size?: 'any' | readonly number[];
    readonly normalize?: 'zscore' | 'percentile';
  };
  readonly output: {
    readonly classes: number;
    readonly activation?: 'sigmoid' | 'softmax' | 'none';
    readonly class_names?: readonly string[];
    readonly threshold?: number;
    readonly from?: string;
    /** Instance-aware training: a 3-class head (background, interior, boundary). */
    readonly instances?: 'boundary';
    /** Boundary heads: how interiors become instances (defaults: ir's defaultSplit). */
    readonly split?: { readonly seed_threshold?: number; readonly waist_depth?: number };
  };
  readonly network?: NetworkSpec;
  readonly graph?: readonly NodeSpec[];
  readonly train?: TrainSpec;
}

/** Defaults of every optional field (documented in the README's spec reference). */
export const defaults = {
  convs: 2,
  kernel: 3,
  padding: 'same',
  order: ['conv', 'relu', 'batchnorm', 'dropout'] as readonly Step[],
  dropout: 0,
  dropout_at: 'conv',
  bias: true,
  leaky_alpha: 0.01,
  elu_alpha: 1,
  bn_epsilon: 1e-3,
  // 0.9 (PyTorch's 0.1): moving statistics settle within a few hundred steps, as short runs need;
  // Keras' 0.99 leaves them stale and validation in inference mode poor.
  bn_momentum: 0.9,
  residual: false,
  /** Squeeze-excitation's reduction ratio; 0: no squeeze-excitation. */
  se: 0,
  /** Attention gates on the skips (Oktay et al. 2018). */
  attention: false,
  growth: 2,
  down: 'maxpool',
  up: 'transpose',
  skip: 'concat',
  threshold: 0.5,
} as const;

export const activationSteps: readonly Step[] = ['relu', 'leaky-relu', 'elu'];

/** Spatial axes of the spec's images: 2, or 3 for volumes. */
export function inputDims(spec: SpecValue): 2 | 3 {
  return spec.input.dims ?? 2;
}

/** The head's activation when the spec does not say: sigmoid for one class, softmax for several (and for instance boundaries). */
export function outputActivation(spec: SpecValue): 'sigmoid' | 'softmax' | 'none' {
  return spec.output.activation ?? (spec.output.classes === 1 && !spec.output.instances ? 'sigmoid' : 'softmax');
}

/** The channels of the head: the classes, or background, interior and boundary for `instances: boundary`. */
export function headClasses(spec: SpecValue): number {
  return spec.output.instances === 'boundary' ? 3 : spec.output.classes;
}

/** Names of the head's channels: `class_names`, or the three of a boundary head (the object's name in the middle). */
export function headClassNames(spec: SpecValue): readonly string[] | undefined {
  if (spec.output.instances !== 'boundary') return spec.output.class_names;
  return ['background', spec.output.class_names?.[0] ?? 'interior', 'boundary'];
}

/** Filters of levels 1..depth. */
export function levelFilters(net: NetworkSpec): number[] {
  if (Array.isArray(net.filters)) return [...(net.filters as readonly number[])];
  const { base, growth = defaults.growth } = net.filters as { base: number; growth?: number };
  return Array.from({ length: net.depth }, (_, i) => Math.round(base * growth ** i));
}

/** The bottleneck's filters: given, or the last level's times growth (2 for a list). */
export function bottleneckFilters(net: NetworkSpec): number {
  if (net.bottleneck !== undefined) return net.bottleneck;
  const f = levelFilters(net);
  const growth = Array.isArray(net.filters) ? 2 : ((net.filters as { growth?: number }).growth ?? defaults.growth);
  return Math.round((f[f.length - 1] ?? 1) * growth);
}

/** Decoder levels with a deep-supervision head: [2, 3, ...] (level 1 is the main head's). */
export function deepSupervisionLevels(net: NetworkSpec): number[] {
  const ds = net.deep_supervision ?? false;
  const n = ds === true ? net.depth - 1 : ds === false ? 0 : ds;
  return Array.from({ length: Math.max(0, Math.min(n, net.depth - 1)) }, (_, i) => i + 2);
}

/** Block names of a template network, in data-flow order. */
export function blockNames(depth: number): string[] {
  const enc = Array.from({ length: depth }, (_, i) => `enc${i + 1}`);
  const dec = Array.from({ length: depth }, (_, i) => `dec${depth - i}`);
  return [...enc, 'bottleneck', ...dec];
}
