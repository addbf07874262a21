import type { Graph } from '../ir/index.js';
import { valueSpan, type SpecDocument } from '../spec/document.js';
import { defaultSplit, filled } from '../ir/index.js';
import { defaults, headClasses, headClassNames, inputDims, outputActivation, type SpecValue } from '../spec/model.js';
import type { GraphBuilder } from './builder.js';

/** The graph fields that come from `input` and `output`. */
export function graphHeader(spec: SpecValue): Omit<Graph, 'ops'> {
  const size = spec.input.size;
  return {
    name: spec.name,
    description: spec.description,
    dims: inputDims(spec),
    inputSize: size === undefined || size === 'any' ? 'any' : [...size],
    inputChannels: spec.input.channels,
    ...(spec.input.normalize === 'percentile' ? { normalize: 'percentile' as const } : {}),
    classes: headClasses(spec),
    activation: outputActivation(spec),
    classNames: headClassNames(spec),
    threshold: spec.output.threshold ?? defaults.threshold,
    ...(spec.output.instances ? { instances: spec.output.instances } : {}),
    ...(spec.output.split
      ? {
          split: {
            seedThreshold: spec.output.split.seed_threshold ?? defaultSplit.seedThreshold,
            waistDepth: spec.output.split.waist_depth ?? defaultSplit.waistDepth,
          },
        }
      : {}),
  };
}

/**
 * The head: a 1x1 conv to the classes (template networks only; explicit graphs end in their own),
 * the output activation, and the Output marker.
 */
export function appendHead(b: GraphBuilder, doc: SpecDocument, spec: SpecValue, from: string, withConv = true): void {
  const span = valueSpan(doc, '/output');
  const classes = headClasses(spec);
  let x = from;
  if (withConv)
    x = b.add('head.conv', [x], classes, span, {
      kind: 'Conv',
      kernel: filled(1, inputDims(spec)),
      stride: filled(1, inputDims(spec)),
      padding: 'same',
      bias: true,
    });
  const activation = outputActivation(spec);
  if (activation !== 'none')
    x = b.add(`head.${activation}`, [x], b.channels(x), valueSpan(doc, '/output/activation') ?? span, {
      kind: 'Activation',
      fn: activation,
      alpha: 0,
    });
  b.add('output', [x], b.channels(x), span, { kind: 'Output', activation });
}

/**
 * A deep-supervision head on decoder level `level`: a 1x1 conv to the classes and the output
 * activation, named `dec{level}.ds_conv` and `dec{level}.ds_{activation}`. Returns its last op.
 */
export function auxHead(b: GraphBuilder, doc: SpecDocument, spec: SpecValue, from: string, level: number): string {
  const span = valueSpan(doc, '/network/deep_supervision');
  const dims = inputDims(spec);
  let x = b.add(`dec${level}.ds_conv`, [from], headClasses(spec), span, {
    kind: 'Conv',
    kernel: filled(1, dims),
    stride: filled(1, dims),
    padding: 'same',
    bias: true,
  });
  const activation = outputActivation(spec);
  if (activation !== 'none')
    x = b.add(`dec${level}.ds_${activation}`, [x], b.channels(x), span, {
      kind: 'Activation',
      fn: activation,
      alpha: 0,
    });
  return x;
}
