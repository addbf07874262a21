/** Small inline specs: each covers some export paths; together they cover every IR op and option. */

/** A depth-2 template with `block` and `network` extras spliced in. */
function template(
  name: string,
  extra: { input?: string; output?: string; block?: string; network?: string } = {},
): string {
  return `name: ${name}
input: {channels: 1${extra.input ?? ''}}
output: {classes: 1${extra.output ?? ''}}
network:
  depth: 2
  filters: [4, 8]
  block: {convs: 2${extra.block ?? ''}}
${extra.network ?? ''}`;
}

export interface InlineCase {
  readonly name: string;
  readonly yaml: string;
  readonly opset?: number;
  readonly foldBn?: boolean;
}

/** The conv-transpose / conv / BatchNorm / crop graph of the numeric check (odd crops, non-square kernels). */
export const numericGraph = `name: numeric
input: {channels: 2}
output: {classes: 2, activation: none}
graph:
  - {name: c1, op: conv, inputs: [input], filters: 3, kernel: [3, 5]}
  - {name: b1, op: batchnorm}
  - {name: c2, op: conv, filters: 4, kernel: [2, 4], bias: false}
  - {name: c3, op: conv, filters: 4, kernel: [2, 4], padding: valid}
  - {name: crop, op: crop, inputs: [b1, c3]}
  - {name: cat, op: concat, inputs: [crop, c3]}
  - {name: up, op: conv-transpose, filters: 3, kernel: 2, stride: 2}
  - {name: head, op: conv, filters: 2, kernel: 1}
`;

export const inlineCases: readonly InlineCase[] = [
  { name: 'same, maxpool, transpose, concat', yaml: template('same-default') },
  {
    name: 'valid padding with crops',
    yaml: template('valid-crops', { block: ', padding: valid, order: [conv, relu]' }),
  },
  {
    name: 'avgpool, nearest, add skips',
    yaml: template('avg-nearest-add', { network: '  down: avgpool\n  up: nearest\n  skip: add\n' }),
  },
  {
    name: 'conv down, bilinear, no skips',
    yaml: template('conv-bilinear-none', { network: '  down: conv\n  up: bilinear\n  skip: none\n' }),
  },
  {
    name: 'softmax 3 classes, leaky-relu, odd channels',
    yaml: template('softmax-leaky', {
      input: '',
      output: ', activation: softmax',
      block: ', order: [conv, batchnorm, leaky-relu], leaky_alpha: 0.2',
    })
      .replace('classes: 1', 'classes: 3')
      .replace('channels: 1', 'channels: 3')
      .replace('[4, 8]', '[3, 5]'),
  },
  { name: 'elu, no BatchNorm, no bias', yaml: template('elu-nobn', { block: ', order: [conv, elu], bias: false' }) },
  { name: 'kernel [3, 5], dropout', yaml: template('kernel-3x5', { block: ', kernel: [3, 5], dropout: 0.2' }) },
  { name: 'explicit graph (conv, BN, crop, transpose)', yaml: numericGraph },
  { name: 'opset 17', yaml: template('opset17', { network: '  up: bilinear\n' }), opset: 17 },
  { name: 'foldBn', yaml: template('fold-bn', { block: ', order: [conv, batchnorm, relu]' }), foldBn: true },
  // Residual blocks: with concat skips every block changes channels (1x1 projection + BatchNorm);
  // with add skips the decoders keep them (identity shortcuts); 'valid' crops the shortcut.
  { name: 'residual, same, projections', yaml: template('residual-proj', { block: ', residual: true' }) },
  {
    name: 'residual, same, add skips (identity shortcuts in the decoder)',
    yaml: template('residual-identity', { block: ', residual: true', network: '  skip: add\n' }),
  },
  {
    name: 'residual, valid, cropped shortcuts',
    yaml: template('residual-valid', { block: ', padding: valid, order: [conv, relu], residual: true, bias: false' }),
  },
  {
    name: 'residual, valid, add skips (cropped identity)',
    yaml: template('residual-valid-id', { block: ', padding: valid, residual: true', network: '  skip: add\n' }),
  },
  {
    name: 'residual, valid, kernel 2 (odd shortcut crop)',
    yaml: template('residual-k2', {
      block: ', kernel: 2, padding: valid, order: [conv, relu], residual: true',
      network: '  blocks:\n    enc1: {convs: 1}\n    dec1: {convs: 1}\n',
    }),
  },
  {
    name: 'residual with folded projection BatchNorm',
    yaml: template('residual-fold', { block: ', order: [conv, batchnorm, relu], residual: true' }),
    foldBn: true,
  },
  { name: 'squeeze-excitation ratio 2', yaml: template('se', { block: ', se: 2' }) },
  {
    name: 'squeeze-excitation ratio 4 (squeeze to 1 channel) and residual, valid',
    yaml: template('se-residual-valid', { block: ', padding: valid, se: 4, residual: true' }),
  },
  // Attention gates (Oktay et al. 2018): the skip scaled by a 1-channel map broadcast over its channels.
  { name: 'attention gates, same', yaml: template('attention-same', { network: '  attention: true\n' }) },
  {
    name: 'attention gates, valid padding with crops',
    yaml: template('attention-valid', {
      block: ', padding: valid, order: [conv, relu]',
      network: '  attention: true\n',
    }),
  },
  {
    name: 'attention gates, add skips, bilinear',
    yaml: template('attention-add', { network: '  up: bilinear\n  skip: add\n  attention: true\n' }),
  },
];

/**
 * A stride-2 'same' conv: tfjs pads 2 rows at odd sizes and 1 at even ones, so with any input
 * size the pads are not constant and the export falls back to auto_pad SAME_UPPER; with a
 * fixed size they are, and the export writes them out.
 */
export const stridedGraph = (size = '') => `name: strided
input: {channels: 2${size}}
output: {classes: 3, activation: softmax}
graph:
  - {name: down, op: conv, inputs: [input], filters: 4, kernel: 3, stride: 2}
  - {name: up, op: upsample, scale: 2, mode: bilinear}
  - {name: head, op: conv, filters: 3, kernel: [1, 3]}
`;

/** 'valid' transposed convs with kernel < stride (output_padding) and kernel > stride, and 'same' with k = 3, s = 2 (odd crop). */
export const transposeGraph = `name: transposes
input: {channels: 2}
output: {classes: 2, activation: none}
graph:
  - {name: t1, op: conv-transpose, inputs: [input], filters: 3, kernel: 1, stride: 2, padding: valid}
  - {name: t2, op: conv-transpose, filters: 2, kernel: [3, 2], stride: 2, padding: valid}
  - {name: t3, op: conv-transpose, filters: 2, kernel: 3, stride: 2}
`;
