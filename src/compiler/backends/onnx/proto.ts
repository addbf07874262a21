/**
 * Small deterministic builders over onnx-proto (onnx `helper.py`'s make_node / make_graph /
 * make_model): every message is built from plain values, attributes are sorted by name, and
 * nothing depends on time or map iteration order, so the same inputs give the same bytes.
 */
import onnxProto from 'onnx-proto';
import type { onnx as O } from 'onnx-proto';
import { halfBits } from '../half.js';

export const { onnx } = onnxProto;
export type NodeProto = O.INodeProto;
export type TensorProto = O.ITensorProto;
export type AttributeProto = O.IAttributeProto;
export type ValueInfoProto = O.IValueInfoProto;
export type GraphProto = O.IGraphProto;
export type ModelProto = O.IModelProto;

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT64: 7, FLOAT16: 10 } as const;

const AttrType = onnx.AttributeProto.AttributeType;

/** An attribute value: a number is an INT unless given with `float()`; arrays are INTS. */
export type AttrValue = number | string | readonly number[] | { readonly float: number } | TensorProto;

/** Marks a number as a FLOAT attribute (epsilon, alpha), which JS numbers cannot tell apart from INT. */
export const float = (value: number) => ({ float: value });

function isTensor(v: AttrValue): v is TensorProto {
  return typeof v === 'object' && !Array.isArray(v) && !('float' in v);
}

function attribute(name: string, value: AttrValue): AttributeProto {
  if (typeof value === 'number') return { name, type: AttrType.INT, i: value };
  if (typeof value === 'string') return { name, type: AttrType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: AttrType.INTS, ints: [...(value as readonly number[])] };
  if (isTensor(value)) return { name, type: AttrType.TENSOR, t: value };
  return { name, type: AttrType.FLOAT, f: (value as { float: number }).float };
}

/** A node; attributes are emitted in sorted name order whatever order the caller lists them in. */
export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  name: string,
  attrs: Record<string, AttrValue> = {},
): NodeProto {
  const attribute_ = Object.keys(attrs)
    .sort()
    .map((k) => attribute(k, attrs[k]!));
  return {
    opType,
    input: [...inputs],
    output: [...outputs],
    name,
    ...(attribute_.length > 0 ? { attribute: attribute_ } : {}),
  };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Little-endian bytes of a float32 array (ONNX raw_data is little-endian on every host). On a
 * little-endian host this is a view, not a copy: the encoder copies it into the file anyway.
 */
export function floatBytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return out;
}

/** A float tensor stored as raw_data: compact and fast for the 31 M values of a full U-Net. */
export function floatTensor(name: string, dims: readonly number[], data: Float32Array): TensorProto {
  return { name, dims: [...dims], dataType: DataType.FLOAT, rawData: floatBytes(data) };
}

/** A float16 tensor as raw_data (little-endian half bits): `--fp16-weights`. */
export function halfTensor(name: string, dims: readonly number[], data: Float32Array): TensorProto {
  const bits = halfBits(data);
  const raw = new Uint8Array(bits.length * 2);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < bits.length; i++) view.setUint16(i * 2, bits[i]!, true);
  return { name, dims: [...dims], dataType: DataType.FLOAT16, rawData: raw };
}

export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): TensorProto {
  return { name, dims: [...dims], dataType: DataType.INT64, int64Data: [...values] };
}

/** A float [N, C, H, W] value info; a string dim is a dim_param, a number a fixed dim_value. */
export function tensorValueInfo(name: string, dims: readonly (number | string)[]): ValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim } } } };
}

export interface ModelFields {
  readonly irVersion: number;
  readonly opset: number;
  readonly producerVersion: string;
  readonly modelVersion: number;
  readonly docString: string | undefined;
  readonly graph: GraphProto;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Encodes a ModelProto; metadata_props come out sorted by key. */
export function encodeModel(m: ModelFields): Uint8Array {
  const metadataProps = Object.keys(m.metadata)
    .sort()
    .map((key) => ({ key, value: m.metadata[key]! }));
  const model = onnx.ModelProto.create({
    irVersion: m.irVersion,
    opsetImport: [{ domain: '', version: m.opset }],
    producerName: 'unetc',
    producerVersion: m.producerVersion,
    modelVersion: m.modelVersion,
    ...(m.docString ? { docString: m.docString } : {}),
    graph: m.graph,
    metadataProps,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** The bytes of one GraphProto, as encodeModel embeds them (protobuf writes a sub-message exactly as on its own). */
export function encodeGraph(g: GraphProto): Uint8Array {
  return onnx.GraphProto.encode(onnx.GraphProto.create(g)).finish();
}

/**
 * The bytes of field `number` of a protobuf message as stored (the first occurrence of a
 * length-delimited field), found by walking the top-level fields without decoding the rest.
 * undefined when the bytes are not a well-formed message or lack the field.
 */
export function storedField(bytes: Uint8Array, number: number): Uint8Array | undefined {
  let i = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      if (i >= bytes.length || shift > 49) throw new RangeError('truncated varint');
      const b = bytes[i++]!;
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
  };
  try {
    while (i < bytes.length) {
      const key = varint();
      const field = Math.floor(key / 8);
      const wire = key % 8;
      if (wire === 0) varint();
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else if (wire === 2) {
        const length = varint();
        if (i + length > bytes.length) return undefined;
        if (field === number) return bytes.subarray(i, i + length);
        i += length;
      } else return undefined;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** ModelProto field numbers read without decoding the whole model. */
export const ModelField = { producerName: 2, graph: 7 } as const;

/** A ModelProto's graph as stored in the file: nodes, initializers (the weights) and dims, everything but the metadata. */
export const storedGraph = (bytes: Uint8Array): Uint8Array | undefined => storedField(bytes, ModelField.graph);

/** Decodes a ModelProto (int64 fields come back as Long: wrap them in Number()). */
export function decodeModel(bytes: Uint8Array): O.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
