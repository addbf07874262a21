import { assertNever, factorText, formatSpatial as pair, type Graph, type Op } from './types.js';

/** One op's attributes, without its source span: what "identical IR" means across front ends. */
export function opAttributes(op: Op): string {
  switch (op.kind) {
    case 'Input':
    case 'Concat':
    case 'Add':
    case 'Crop':
    case 'GlobalAvgPool':
    case 'Multiply':
      return '';
    case 'Conv':
    case 'ConvTranspose':
      return `kernel=${pair(op.kernel)} stride=${pair(op.stride)} padding=${op.padding} bias=${op.bias}`;
    case 'BatchNorm':
      return `epsilon=${op.epsilon} momentum=${op.momentum}`;
    case 'Activation':
      return op.fn === 'leaky-relu' || op.fn === 'elu' ? `fn=${op.fn} alpha=${op.alpha}` : `fn=${op.fn}`;
    case 'Dropout':
      return `rate=${op.rate}`;
    case 'Pool':
      return `mode=${op.mode} size=${pair(op.size)} stride=${pair(op.stride)}`;
    case 'Upsample':
      return `mode=${op.mode} scale=${pair(op.scale)}`;
    case 'Output':
      return `activation=${op.activation}`;
    default:
      return assertNever(op);
  }
}

/** A deterministic text dump of the IR (golden files, front-end equality tests). */
export function printGraph(g: Graph): string {
  const lines = [
    `graph ${g.name}`,
    `  input channels=${g.inputChannels}${g.dims === 3 ? ' dims=3' : ''} size=${g.inputSize === 'any' ? 'any' : pair(g.inputSize)}${g.normalize ? ` normalize=${g.normalize}` : ''}`,
    `  output classes=${g.classes} activation=${g.activation} threshold=${g.threshold}${g.classNames ? ` names=${g.classNames.join(',')}` : ''}${g.instances ? ` instances=${g.instances}` : ''}${g.split ? ` split=${g.split.seedThreshold},${g.split.waistDepth}` : ''}`,
  ];
  for (const op of g.ops) {
    const attrs = opAttributes(op);
    lines.push(`  ${op.name} = ${op.kind}(${op.inputs.join(', ')}) -> ${op.channels}ch${attrs ? ` ${attrs}` : ''}`);
  }
  const ds = g.deepSupervision;
  if (ds) {
    const w = (x: number) => Number(x.toFixed(6));
    lines.push(
      `  deep-supervision main weight=${w(ds.mainWeight)}`,
      ...ds.heads.map((h) => `    ${h.op} level=${h.level} factor=${factorText(h.factor)} weight=${w(h.weight)}`),
    );
  }
  return `${lines.join('\n')}\n`;
}
