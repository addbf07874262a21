import { Document, isMap, isSeq, isScalar, type Node as YamlNode } from 'yaml';
import type { JsonValue } from '../spec/document.js';
import { specSchema } from '../spec/validate.js';

type Schema = Record<string, unknown>;

/** Canonical key order: the order of `properties` in the schema, unknown keys last in their order. */
function keyOrder(schema: Schema | undefined): string[] {
  return Object.keys((schema?.properties as Schema | undefined) ?? {});
}

function resolve(schema: Schema | undefined): Schema | undefined {
  const ref = schema?.$ref;
  if (typeof ref !== 'string') return schema;
  const defs = specSchema.definitions as Record<string, Schema>;
  return resolve(defs[ref.slice('#/definitions/'.length)]);
}

/** The schema for a member of an object schema (template keys, block overrides, graph nodes). */
function childSchema(schema: Schema | undefined, key: string | number): Schema | undefined {
  const s = resolve(schema);
  if (!s) return undefined;
  if (typeof key === 'number') return resolve(s.items as Schema | undefined);
  const props = s.properties as Schema | undefined;
  if (props && key in props) return resolve(props[key] as Schema);
  if (typeof s.additionalProperties === 'object') return resolve(s.additionalProperties as Schema);
  return undefined;
}

function sortValue(value: JsonValue, schema: Schema | undefined): JsonValue {
  if (Array.isArray(value)) return value.map((v, i) => sortValue(v, childSchema(schema, i)));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, JsonValue>;
  const s = resolve(schema);
  // Graph nodes: name, op, inputs first, then attributes alphabetically.
  const order = s?.required && (s.required as string[]).includes('op') ? ['name', 'op', 'inputs'] : keyOrder(s);
  const rank = (k: string) => {
    const i = order.indexOf(k);
    return i < 0 ? order.length : i;
  };
  const blockRank = (k: string) =>
    /^enc\d$/.test(k) ? `0${k}` : k === 'bottleneck' ? '1' : /^dec\d$/.test(k) ? `2${9 - Number(k.slice(3))}` : `3${k}`;
  const isBlocks = !s?.properties && typeof s?.additionalProperties === 'object';
  const keys = Object.keys(obj).sort((a, b) =>
    isBlocks ? blockRank(a).localeCompare(blockRank(b)) : rank(a) - rank(b) || a.localeCompare(b),
  );
  const out: Record<string, JsonValue> = {};
  for (const k of keys) out[k] = sortValue(obj[k]!, childSchema(s, k));
  return out;
}

/** Lists of scalars and leaf mappings that fit on a line print in flow style: `filters: [64, 128, 256, 512]`. */
function flowLeaves(node: YamlNode | null, depth: number): void {
  if (isSeq(node)) {
    if (node.items.every((i) => isScalar(i))) node.flow = true;
    else node.items.forEach((i) => flowLeaves(i as YamlNode, depth + 1));
  } else if (isMap(node)) {
    const leaf = node.items.every(
      (p) => isScalar(p.value) || (isSeq(p.value) && p.value.items.every((i) => isScalar(i))),
    );
    if (leaf && depth >= 2 && JSON.stringify(node.toJSON()).length <= 80) node.flow = true;
    else node.items.forEach((p) => flowLeaves(p.value as YamlNode, depth + 1));
  }
}

/**
 * Canonical YAML for a spec value: schema key order, 2-space indent, flow style for short
 * lists, and the yaml-language-server modeline so editors validate and complete it.
 */
export function printYaml(value: JsonValue, schemaPath = '../schema/unetc.schema.json'): string {
  const doc = new Document(sortValue(value, specSchema));
  flowLeaves(doc.contents as YamlNode, 0);
  const body = doc.toString({ indent: 2, lineWidth: 100, flowCollectionPadding: false });
  return `# yaml-language-server: $schema=${schemaPath}\n${body}`;
}
