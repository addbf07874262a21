import type { Graph } from '../ir/index.js';
import { valueSpan, type SpecDocument } from '../spec/document.js';
import { defaults, outputActivation, type SpecValue } from '../spec/model.js';
import type { GraphBuilder } from './builder.js';

/** The graph fields that come from `input` and `output`. */
export function graphHeader(spec: SpecValue): Omit<Graph, 'ops'> {
  const size = spec.input.size;
  return {
    name: spec.name,
    description: spec.description,
    inputSize: size === undefined || size === 'any' ? 'any' : [size[0], size[1]],
    inputChannels: spec.input.channels,
    classes: spec.output.classes,
    activation: outputActivation(spec),
    classNames: spec.output.class_names,
    threshold: spec.output.threshold ?? defaults.threshold,
  };
}

/**
 * The head: a 1x1 conv to the classes (template networks only; explicit graphs end in their own),
 * the output activation, and the Output marker.
 */
export function appendHead(b: GraphBuilder, doc: SpecDocument, spec: SpecValue, from: string, withConv = true): void {
  const span = valueSpan(doc, '/output');
  const classes = spec.output.classes;
  let x = from;
  if (withConv) x = b.add('head.conv', [x], classes, span, { kind: 'Conv', kernel: [1, 1], stride: [1, 1], padding: 'same', bias: true });
  const activation = outputActivation(spec);
  if (activation !== 'none') x = b.add(`head.${activation}`, [x], b.channels(x), valueSpan(doc, '/output/activation') ?? span, { kind: 'Activation', fn: activation, alpha: 0 });
  b.add('output', [x], b.channels(x), span, { kind: 'Output', activation });
}
