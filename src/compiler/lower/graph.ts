import { Codes, didYouMean, error, warning, type Diagnostic, type Result, type Span } from '../diagnostics/index.js';
import type { Dims, Graph, Spatial } from '../ir/index.js';
import { valueSpan, type SpecDocument } from '../spec/document.js';
import { defaults, headClasses, inputDims, outputActivation, type NodeSpec, type SpecValue } from '../spec/model.js';
import { GraphBuilder, type OpBody } from './builder.js';
import { appendHead, graphHeader } from './head.js';

/** A kernel, stride or size: n on every axis, or one per axis (the schema and semantic checks guarantee the count). */
const spatialOf = (k: unknown, fallback: number, dims: Dims): Spatial =>
  Array.isArray(k) ? k.map(Number) : Array.from({ length: dims }, () => (typeof k === 'number' ? k : fallback));

/** How many inputs each op takes: [min, max]. */
const arity: Record<string, readonly [number, number]> = {
  concat: [2, Infinity],
  add: [2, Infinity],
  crop: [2, 2],
  multiply: [2, 2],
};

interface Resolved {
  readonly node: NodeSpec;
  readonly index: number;
  readonly inputs: readonly string[];
}

/** Lowers an explicit graph: checks names, inputs, cycles and arities, then infers channels. */
export function lowerGraph(doc: SpecDocument, spec: SpecValue): Result<Graph> {
  const nodes = spec.graph ?? [];
  const out: Diagnostic[] = [];
  const at = (i: number, key?: string): Span | undefined =>
    key ? valueSpan(doc, `/graph/${i}/${key}`) : valueSpan(doc, `/graph/${i}`);

  const index = new Map<string, number>();
  nodes.forEach((n, i) => {
    if (n.name === 'input' || n.name === 'output') {
      out.push(
        error(
          Codes.duplicateNode,
          `'${n.name}' is reserved (the graph's ${n.name}); choose another node name`,
          at(i, 'name'),
        ),
      );
    } else if (index.has(n.name)) {
      const first = index.get(n.name)!;
      out.push(
        error(Codes.duplicateNode, `node name '${n.name}' is used twice`, at(i, 'name'), [
          `first used by graph[${first}]`,
        ]),
      );
    } else index.set(n.name, i);
  });

  const resolved: Resolved[] = nodes.map((node, i) => {
    const given = node.inputs ?? [i === 0 ? 'input' : nodes[i - 1]!.name];
    given.forEach((name, k) => {
      if (name !== 'input' && !index.has(name)) {
        const suggestion = didYouMean(name, ['input', ...index.keys()]);
        out.push(
          error(
            Codes.unknownNode,
            `graph[${i}] ('${node.name}') reads '${name}', which is not a node`,
            valueSpan(doc, `/graph/${i}/inputs/${k}`) ?? at(i),
            [],
            suggestion,
          ),
        );
      }
    });
    const [min, max] = arity[node.op] ?? [1, 1];
    if (given.length < min || given.length > max) {
      const need = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      out.push(
        error(
          Codes.arity,
          `${node.op} node '${node.name}' takes ${need} input${min === 1 && max === 1 ? '' : 's'}, found ${given.length}`,
          valueSpan(doc, `/graph/${i}/inputs`) ?? at(i, 'op'),
        ),
      );
    }
    return { node, index: i, inputs: given };
  });
  if (out.length > 0) return { value: undefined, diagnostics: out };

  const order = topologicalOrder(resolved, index);
  if ('cycle' in order) {
    // The walk followed inputs backwards; print it in data-flow order.
    const names = order.cycle.map((i) => nodes[i]!.name).reverse();
    return {
      value: undefined,
      diagnostics: [
        error(
          Codes.cycle,
          `the graph has a cycle: ${[...names, names[0]].join(' -> ')}`,
          at(order.cycle[0]!, 'inputs'),
        ),
      ],
    };
  }

  const b = new GraphBuilder();
  b.add('input', [], spec.input.channels, valueSpan(doc, '/input'), { kind: 'Input' });
  for (const i of order.order) {
    const r = resolved[i]!;
    const channels = r.inputs.map((n) => b.channels(n));
    const body = opBody(r.node, inputDims(spec));
    let c = channels[0] ?? 0;
    if (body.kind === 'Conv' || body.kind === 'ConvTranspose') c = Number(r.node.filters);
    else if (body.kind === 'Concat') c = channels.reduce((a, x) => a + x, 0);
    else if (body.kind === 'Add' && channels.some((x) => x !== c)) {
      out.push(
        error(
          Codes.mergeMismatch,
          `add node '${r.node.name}' joins tensors of ${channels.join(', ')} channels; add needs equal channels`,
          at(i, 'inputs') ?? at(i),
        ),
      );
    } else if (body.kind === 'Multiply' && channels[1] !== c && channels[1] !== 1) {
      out.push(
        error(
          Codes.mergeMismatch,
          `multiply node '${r.node.name}' scales ${c} channels by ${channels[1]}; the second input needs ${c} channels or 1 (broadcast)`,
          at(i, 'inputs') ?? at(i),
        ),
      );
    }
    b.add(r.node.name, r.inputs, c, at(i), body);
  }
  const last = spec.output.from ?? nodes[order.order[order.order.length - 1] ?? 0]?.name ?? 'input';
  if (!index.has(last)) {
    out.push(
      error(
        Codes.unknownNode,
        `output.from names '${last}', which is not a node`,
        valueSpan(doc, '/output/from'),
        [],
        didYouMean(last, index.keys()),
      ),
    );
    return { value: undefined, diagnostics: out };
  }
  if (b.channels(last) !== headClasses(spec)) {
    const want = spec.output.instances
      ? `output.instances: ${spec.output.instances} needs ${headClasses(spec)} (background, interior, boundary)`
      : `output.classes is ${spec.output.classes}`;
    out.push(
      error(
        Codes.mergeMismatch,
        `the graph's output '${last}' has ${b.channels(last)} channel${b.channels(last) === 1 ? '' : 's'} but ${want}`,
        valueSpan(doc, '/output/classes'),
        ['end the graph with a 1x1 conv to the number of classes'],
      ),
    );
  }
  const lastOp = nodes[index.get(last) ?? -1]?.op;
  if ((lastOp === 'sigmoid' || lastOp === 'softmax') && outputActivation(spec) !== 'none') {
    out.push(
      warning(
        Codes.doubleActivation,
        `the graph ends in a ${lastOp} node and output.activation adds ${outputActivation(spec)} on top`,
        valueSpan(doc, '/output/activation') ?? at(index.get(last)!, 'op'),
        ['set output.activation: none, or end the graph before the activation'],
      ),
    );
  }
  for (const r of resolved) {
    if (r.node.op === 'softmax' && b.channels(r.inputs[0] ?? '') === 1)
      out.push(
        error(
          Codes.classesVsActivation,
          `softmax node '${r.node.name}' normalizes over 1 channel: its output is always 1.0`,
          at(r.index, 'op'),
        ),
      );
  }
  // Nodes the output does not depend on are left out, so the IR, its parameter count and every
  // backend agree on one network.
  const needed = new Set<string>(['input', last]);
  for (let i = b.ops.length - 1; i >= 0; i--) {
    const op = b.ops[i]!;
    if (needed.has(op.name)) op.inputs.forEach((n) => needed.add(n));
  }
  for (const r of resolved) {
    if (!needed.has(r.node.name))
      out.push(
        warning(
          Codes.unusedNode,
          `node '${r.node.name}' does not lead to the output and is left out`,
          at(r.index, 'name'),
        ),
      );
  }
  const head = GraphBuilder.from(b.ops.filter((op) => needed.has(op.name)));
  appendHead(head, doc, spec, last, false);
  const errors = out.some((d) => d.severity === 'error');
  return { value: errors ? undefined : { ...graphHeader(spec), ops: head.ops }, diagnostics: out };
}

function opBody(n: NodeSpec, dims: Dims): OpBody {
  const toPair = (k: unknown, fallback: number) => spatialOf(k, fallback, dims);
  const kernel = toPair(n.kernel, 3);
  const stride = toPair(n.stride, 1);
  const padding = (n.padding as 'same' | 'valid' | undefined) ?? defaults.padding;
  const bias = (n.bias as boolean | undefined) ?? true;
  switch (n.op) {
    case 'conv':
      return { kind: 'Conv', kernel, stride, padding, bias };
    case 'conv-transpose':
      return { kind: 'ConvTranspose', kernel: toPair(n.kernel, 2), stride: toPair(n.stride, 2), padding, bias };
    case 'batchnorm':
      return {
        kind: 'BatchNorm',
        epsilon: (n.epsilon as number | undefined) ?? defaults.bn_epsilon,
        momentum: (n.momentum as number | undefined) ?? defaults.bn_momentum,
      };
    case 'relu':
    case 'sigmoid':
    case 'softmax':
      return { kind: 'Activation', fn: n.op, alpha: 0 };
    case 'leaky-relu':
      return { kind: 'Activation', fn: 'leaky-relu', alpha: (n.alpha as number | undefined) ?? defaults.leaky_alpha };
    case 'elu':
      return { kind: 'Activation', fn: 'elu', alpha: defaults.elu_alpha };
    case 'dropout':
      return { kind: 'Dropout', rate: Number(n.rate) };
    case 'maxpool':
    case 'avgpool': {
      const size = toPair(n.size, 2);
      return {
        kind: 'Pool',
        mode: n.op === 'maxpool' ? 'max' : 'avg',
        size,
        stride: n.stride === undefined ? size : stride,
      };
    }
    case 'upsample':
      return {
        kind: 'Upsample',
        scale: toPair(n.scale, 2),
        mode: (n.mode as 'nearest' | 'bilinear' | undefined) ?? 'nearest',
      };
    case 'concat':
      return { kind: 'Concat' };
    case 'add':
      return { kind: 'Add' };
    case 'global-avgpool':
      return { kind: 'GlobalAvgPool' };
    case 'multiply':
      return { kind: 'Multiply' };
    default:
      return { kind: 'Crop' };
  }
}

/** Kahn's algorithm, stable in spec order; on a cycle, returns one cycle's node indices. */
function topologicalOrder(
  nodes: readonly Resolved[],
  index: ReadonlyMap<string, number>,
): { order: number[] } | { cycle: number[] } {
  const deps = nodes.map((r) => r.inputs.filter((n) => n !== 'input').map((n) => index.get(n)!));
  const done = new Set<number>();
  const order: number[] = [];
  let progress = true;
  while (order.length < nodes.length && progress) {
    progress = false;
    for (let i = 0; i < nodes.length; i++) {
      if (!done.has(i) && deps[i]!.every((d) => done.has(d))) {
        done.add(i);
        order.push(i);
        progress = true;
      }
    }
  }
  if (order.length === nodes.length) return { order };
  // Walk unresolved dependencies from any blocked node until one repeats: that is a cycle.
  let at = nodes.findIndex((_, i) => !done.has(i));
  const seen: number[] = [];
  while (!seen.includes(at)) {
    seen.push(at);
    at = deps[at]!.find((d) => !done.has(d))!;
  }
  return { cycle: seen.slice(seen.indexOf(at)) };
}
