import { assertNever, type Graph, type Op, type Pair } from './types.js';

const pair = (p: Pair) => `${p[0]}x${p[1]}`;

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
    `  input channels=${g.inputChannels} size=${g.inputSize === 'any' ? 'any' : pair(g.inputSize)}`,
    `  output classes=${g.classes} activation=${g.activation} threshold=${g.threshold}${g.classNames ? ` names=${g.classNames.join(',')}` : ''}`,
  ];
  for (const op of g.ops) {
    const attrs = opAttributes(op);
    lines.push(`  ${op.name} = ${op.kind}(${op.inputs.join(', ')}) -> ${op.channels}ch${attrs ? ` ${attrs}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
