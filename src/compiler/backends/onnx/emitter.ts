/**
 * Collects nodes and initializers in emission order (which is the IR's topological order) and
 * decides each IR op's tensor name: aliases (Dropout, Output) resolve to what they read, the
 * graph's ends are named `input` and `output`, and a BatchNorm folded into its conv is
 * produced by the conv's node.
 */
import type { Graph, Op } from '../../ir/index.js';
import {
  DataType,
  floatTensor,
  halfTensor,
  int64Tensor,
  node,
  type AttrValue,
  type NodeProto,
  type TensorProto,
} from './proto.js';

export class Emitter {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly constants = new Set<string>();
  private readonly byName: ReadonlyMap<string, Op>;
  private readonly finalProducer: string;
  /** The BatchNorms folded away (their values come out of their conv's node). */
  readonly foldedBatchNorms: ReadonlySet<string>;

  /** `folds` maps a conv's name to the BatchNorm folded into it; `halfWeights` stores weights as float16. */
  constructor(
    graph: Graph,
    readonly folds: ReadonlyMap<string, string>,
    readonly halfWeights = false,
  ) {
    this.byName = new Map(graph.ops.map((op) => [op.name, op]));
    this.foldedBatchNorms = new Set(folds.values());
    const out = graph.ops.find((op) => op.kind === 'Output');
    if (!out) throw new Error(`graph '${graph.name}' has no Output op`);
    this.finalProducer = this.producer(out.name);
  }

  /** The op that really computes `name`'s value: Dropout (inference: identity) and Output are aliases. */
  producer(name: string): string {
    let op = this.byName.get(name);
    while (op && (op.kind === 'Dropout' || op.kind === 'Output')) op = this.byName.get(op.inputs[0] ?? '');
    if (!op) throw new Error(`unknown IR op '${name}'`);
    return op.name;
  }

  /** The ONNX tensor that holds IR op `name`'s output. */
  tensor(name: string): string {
    const p = this.producer(name);
    if (this.byName.get(p)?.kind === 'Input') return 'input';
    if (p === this.finalProducer) return 'output';
    return p;
  }

  /** The final tensor is the graph input itself (a network of only aliases): needs an Identity. */
  get outputIsInput(): boolean {
    return this.byName.get(this.finalProducer)?.kind === 'Input';
  }

  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    name: string,
    attrs?: Record<string, AttrValue>,
  ): void {
    this.nodes.push(node(opType, inputs, outputs, name, attrs));
  }

  /**
   * A float initializer (weights only: the file's float initializers are exactly the parameters).
   * With `halfWeights`, a float16 initializer `NAME/fp16` and a Cast to float right after it
   * (onnxruntime folds the Cast when it loads the model), so every op still computes in float32.
   */
  weight(name: string, dims: readonly number[], data: Float32Array): string {
    if (!this.halfWeights) {
      this.initializers.push(floatTensor(name, dims, data));
      return name;
    }
    this.initializers.push(halfTensor(`${name}/fp16`, dims, data));
    this.node('Cast', [`${name}/fp16`], [name], `${name}/cast`, { to: DataType.FLOAT });
    return name;
  }

  /**
   * A shared int64 constant, emitted once as a Constant node (not an initializer, so the
   * initializers stay exactly the model's weights) before its first use.
   */
  int64(values: readonly number[]): string {
    const name = `const/int64/${values.join(',')}`;
    if (!this.constants.has(name)) {
      this.constants.add(name);
      this.node('Constant', [], [name], name, { value: int64Tensor('', [values.length], values) });
    }
    return name;
  }

  /** A shared float constant (Resize scales), as a Constant node. */
  floats(values: readonly number[]): string {
    const name = `const/float/${values.join(',')}`;
    if (!this.constants.has(name)) {
      this.constants.add(name);
      this.node('Constant', [], [name], name, { value: floatTensor('', [values.length], Float32Array.from(values)) });
    }
    return name;
  }
}
