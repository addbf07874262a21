/** Reading an exported model back: counts and a plain summary, for tests and `inspect`-like tools. */
import { sourceSha256 } from './metadata.js';
import {
  DataType,
  decodeModel,
  ModelField,
  onnx,
  storedField,
  storedGraph,
  type AttributeProto,
  type NodeProto,
  type ValueInfoProto,
} from './proto.js';

/** An attribute's value as plain JS: a number, a number list, a string, or a tensor's dims. */
export type AttrSummary = number | string | readonly number[] | { readonly tensor: readonly number[] };

export interface NodeSummary {
  readonly name: string;
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Attributes in file order. */
  readonly attributes: readonly (readonly [string, AttrSummary])[];
}

export interface OnnxSummary {
  readonly irVersion: number;
  readonly opsets: ReadonlyMap<string, number>;
  readonly producer: string;
  readonly producerVersion: string;
  readonly modelVersion: number;
  readonly docString: string;
  /** Node op types in graph order. */
  readonly opTypes: readonly string[];
  readonly nodes: readonly NodeSummary[];
  readonly initializers: readonly {
    readonly name: string;
    readonly dims: readonly number[];
    readonly values: number;
  }[];
  /** Dims of the graph input and output: numbers for dim_value, strings for dim_param. */
  readonly inputDims: readonly (number | string)[];
  readonly outputDims: readonly (number | string)[];
  /** metadata_props in file order. */
  readonly metadata: readonly (readonly [string, string])[];
  /** SHA-256 of the graph as stored (compare with the graph_sha256 metadata unetc writes). */
  readonly graphSha256: string | undefined;
}

const T = onnx.AttributeProto.AttributeType;

function attrValue(a: AttributeProto): AttrSummary {
  switch (a.type) {
    case T.INT:
      return Number(a.i ?? 0);
    case T.FLOAT:
      return a.f ?? 0;
    case T.INTS:
      return (a.ints ?? []).map(Number);
    case T.STRING:
      return new TextDecoder().decode(a.s ?? new Uint8Array());
    case T.TENSOR:
      return { tensor: (a.t?.dims ?? []).map(Number) };
    default:
      return `<attribute type ${String(a.type)}>`;
  }
}

function nodeSummary(n: NodeProto): NodeSummary {
  return {
    name: n.name ?? '',
    opType: n.opType ?? '',
    inputs: [...(n.input ?? [])],
    outputs: [...(n.output ?? [])],
    attributes: (n.attribute ?? []).map((a) => [a.name ?? '', attrValue(a)] as const),
  };
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Decodes a ModelProto's bytes into plain numbers and strings (int64 Longs converted). */
export function summarizeOnnx(bytes: Uint8Array): OnnxSummary {
  const m = decodeModel(bytes);
  const g = m.graph;
  const stored = storedGraph(bytes);
  const dimsOf = (vi: ValueInfoProto | undefined) =>
    (vi?.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue ?? 0)));
  return {
    irVersion: Number(m.irVersion),
    opsets: new Map(m.opsetImport.map((o) => [o.domain ?? '', Number(o.version)])),
    producer: m.producerName,
    producerVersion: m.producerVersion,
    modelVersion: Number(m.modelVersion),
    docString: m.docString,
    opTypes: (g?.node ?? []).map((n) => n.opType ?? ''),
    nodes: (g?.node ?? []).map(nodeSummary),
    initializers: (g?.initializer ?? []).map((t) => {
      const dims = (t.dims ?? []).map(Number);
      return { name: t.name ?? '', dims, values: product(dims) };
    }),
    inputDims: dimsOf(g?.input?.[0]),
    outputDims: dimsOf(g?.output?.[0]),
    metadata: m.metadataProps.map((p) => [p.key ?? '', p.value ?? ''] as const),
    // Hashed on first read only: most summaries (a probe for the input rank) never need it.
    get graphSha256() {
      return stored === undefined ? undefined : sourceSha256(stored);
    },
  };
}

/** How many float values the model's initializers hold (the parameter count, unless BatchNorm was folded). */
export function countInitializerValues(bytes: Uint8Array): number {
  const g = decodeModel(bytes).graph;
  let n = 0;
  for (const t of g?.initializer ?? [])
    if (t.dataType === DataType.FLOAT || t.dataType === DataType.FLOAT16) n += product((t.dims ?? []).map(Number));
  return n;
}

/** The producer_name of an ONNX model from its first bytes (it precedes the graph), or undefined. */
export function onnxProducer(head: Uint8Array): string | undefined {
  const field = storedField(head, ModelField.producerName);
  return field === undefined ? undefined : new TextDecoder().decode(field);
}
