/** Named benchmark configurations (shared/FACTS.md: A, B, C). */
export interface BenchConfig {
  readonly name: string;
  readonly base: number;
  readonly depth: number;
  readonly size: number;
  readonly batch: number;
  /** Whether the training step is measured (C is forward only: wasm32's 4 GB would not hold it). */
  readonly train: boolean;
  readonly reps: number;
  /** Volumes (a 3D U-Net, input.dims: 3): the depth of the input, [volumeDepth, size, size]. */
  readonly volumeDepth?: number;
}

/** The input's spatial size: [size, size], or [volumeDepth, size, size] for a 3D config. */
export const spatialOf = (c: BenchConfig): number[] =>
  c.volumeDepth === undefined ? [c.size, c.size] : [c.volumeDepth, c.size, c.size];

export const configs: readonly BenchConfig[] = [
  { name: 'A', base: 16, depth: 4, size: 128, batch: 4, train: true, reps: 10 },
  { name: 'B', base: 32, depth: 4, size: 256, batch: 2, train: true, reps: 6 },
  { name: 'C', base: 64, depth: 4, size: 256, batch: 1, train: false, reps: 3 },
  // A 3D U-Net on 32x64x64 volumes (specs/unet-3d.yaml's shape at a quarter of its filters).
  { name: 'V', base: 8, depth: 3, size: 64, batch: 1, train: true, reps: 3, volumeDepth: 32 },
];

/** The spec every engine runs: the canonical template at a given base and depth. */
export function specText(c: BenchConfig): string {
  return [
    `name: bench-${c.name.toLowerCase()}`,
    `input: {channels: 1${c.volumeDepth === undefined ? '' : ', dims: 3'}}`,
    'output: {classes: 1, activation: sigmoid}',
    'network:',
    `  depth: ${c.depth}`,
    `  filters: {base: ${c.base}, growth: 2}`,
    '  block: {convs: 2, kernel: 3, order: [conv, relu, batchnorm, dropout], dropout: 0.1}',
    '',
  ].join('\n');
}
