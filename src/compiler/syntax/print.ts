/**
 * `printDsl`: the canonical DSL text of a spec value (`unetc fmt --to dsl`).
 */
import type { JsonValue } from '../spec/document.js';
import { printTemplate } from './print-block.js';
import {
  isObject,
  printName,
  printObject,
  printPlainName,
  printScalar,
  printSize,
  quote,
  type JsonObject,
} from './print-values.js';

const INDENT = '  ';
/** Output item keywords: an activation with one of these names must be quoted. */
const outputWords = new Set(['classes', 'names', 'threshold', 'from', 'instances', 'split']);

/**
 * Canonical DSL text for a spec value: one statement per line in a fixed order (version,
 * description, input, output, depth, filters, bottleneck, block template, down, up, skip, block
 * overrides enc1..encN, bottleneck, dec1..decN, nodes, train), two-space indent.
 *
 * For a schema-valid value V, `parseDsl(printDsl(V))` gives V back up to these normalizations:
 * - a square kernel `[k, k]` (`[k, k, k]` in 3D) of the block template comes back as `k` when the
 *   template's order has a `conv` step to carry it (the sugar `conv 3x3`, or `conv 3x3x3` for
 *   input dims 3, means 3);
 * - a block template with fields but no `order` comes back with the default order
 *   `[conv, relu, batchnorm, dropout]` (the sugar always writes the unit's steps);
 * - an empty `network.blocks` ({}) is dropped: only `block NAME { ... }` statements create it.
 * Keys outside the schema's places are dropped, and values of the wrong type may print as text
 * that does not parse (the schema rejects them anyway). Never throws.
 */
export function printDsl(value: JsonValue): string {
  const spec: JsonObject = isObject(value) ? value : {};
  const lines: string[] = [];
  const add = (line: string | undefined): void => {
    if (line !== undefined) lines.push(INDENT + line);
  };
  add(spec.unetc === undefined ? undefined : `version ${printScalar(spec.unetc)}`);
  add(
    spec.description === undefined
      ? undefined
      : `description ${quote(typeof spec.description === 'string' ? spec.description : String(spec.description))}`,
  );
  add(isObject(spec.input) ? printInput(spec.input) : undefined);
  add(isObject(spec.output) ? printOutput(spec.output) : undefined);
  const dims = isObject(spec.input) && spec.input.dims === 3 ? 3 : 2;
  if (isObject(spec.network)) printNetwork(spec.network, dims).forEach(add);
  if (Array.isArray(spec.graph))
    (spec.graph as readonly JsonValue[]).forEach((n) => add(isObject(n) ? printNode(n) : undefined));
  if (isObject(spec.train)) add(`train ${printObject(spec.train, INDENT.length + 6, INDENT)}`);
  const name = typeof spec.name === 'string' ? spec.name : '';
  return `unet ${printName(name)} {\n${lines.map((l) => `${l}\n`).join('')}}\n`;
}

function printInput(input: JsonObject): string {
  const parts = ['input'];
  if (input.channels !== undefined) parts.push('channels', printScalar(input.channels));
  if (input.dims !== undefined) parts.push('dims', printScalar(input.dims));
  if (typeof input.normalize === 'string') parts.push('normalize', printPlainName(input.normalize));
  if (input.size !== undefined)
    parts.push('size', input.size === 'any' ? 'any' : (printSize(input.size) ?? printScalar(input.size)));
  return parts.join(' ');
}

function printOutput(output: JsonObject): string {
  const parts = ['output'];
  if (output.classes !== undefined) parts.push('classes', printScalar(output.classes));
  if (typeof output.activation === 'string') parts.push(printPlainName(output.activation, outputWords));
  if (Array.isArray(output.class_names)) {
    parts.push(
      'names',
      ...(output.class_names as readonly JsonValue[]).map((n) => quote(typeof n === 'string' ? n : String(n))),
    );
  }
  if (output.threshold !== undefined) parts.push('threshold', printScalar(output.threshold));
  if (typeof output.from === 'string') parts.push('from', printPlainName(output.from));
  if (typeof output.instances === 'string') parts.push('instances', printPlainName(output.instances));
  if (isObject(output.split)) parts.push('split', printObject(output.split, INDENT.length + 6, INDENT));
  return parts.join(' ');
}

function printNetwork(net: JsonObject, dims: 2 | 3): string[] {
  const out: string[] = [];
  if (net.depth !== undefined) out.push(`depth ${printScalar(net.depth)}`);
  const filters = net.filters;
  if (Array.isArray(filters)) out.push(['filters', ...(filters as readonly JsonValue[]).map(printScalar)].join(' '));
  else if (isObject(filters)) {
    const growth = filters.growth === undefined ? '' : ` growth ${printScalar(filters.growth)}`;
    out.push(`filters base ${printScalar(filters.base)}${growth}`);
  }
  if (net.bottleneck !== undefined) out.push(`bottleneck ${printScalar(net.bottleneck)}`);
  if (isObject(net.block)) out.push(`block ${printTemplate(net.block, INDENT.length + 6, INDENT, dims)}`);
  for (const key of ['down', 'up', 'skip'] as const) {
    const v = net[key];
    if (v !== undefined) out.push(`${key} ${typeof v === 'string' ? printPlainName(v) : printScalar(v)}`);
  }
  if (net.attention !== undefined)
    out.push(
      `attention ${typeof net.attention === 'string' ? printPlainName(net.attention) : printScalar(net.attention)}`,
    );
  if (net.pool !== undefined) out.push(`pool ${printSize(net.pool) ?? printScalar(net.pool)}`);
  const ds = net.deep_supervision;
  if (ds !== undefined) out.push(`deep-supervision ${typeof ds === 'string' ? printPlainName(ds) : printScalar(ds)}`);
  if (isObject(net.blocks)) {
    const blocks = net.blocks;
    for (const name of Object.keys(blocks).sort(byBlockOrder)) {
      const o = blocks[name];
      if (!isObject(o)) continue;
      const head = `block ${printName(name)} `;
      out.push(head + printObject(o, INDENT.length + head.length, INDENT));
    }
  }
  return out;
}

/** enc1..encN, then bottleneck, then dec1..decN, then any other name (the schema rejects those). */
function byBlockOrder(a: string, b: string): number {
  const rank = (s: string): [number, number] => {
    const m = /^(enc|dec)([0-9]+)$/.exec(s);
    if (m) return [m[1] === 'enc' ? 0 : 2, Number(m[2])];
    return s === 'bottleneck' ? [1, 0] : [3, 0];
  };
  const [ra, na] = rank(a);
  const [rb, nb] = rank(b);
  return ra - rb || na - nb || (a < b ? -1 : a > b ? 1 : 0);
}

function printNode(node: JsonObject): string {
  const name = typeof node.name === 'string' ? node.name : '';
  const op = typeof node.op === 'string' ? node.op : '';
  const inputs =
    Array.isArray(node.inputs) && node.inputs.every((i) => typeof i === 'string')
      ? (node.inputs as readonly string[])
      : undefined;
  let head = `node ${printName(name)} = ${printPlainName(op)}`;
  if (inputs) head += `(${inputs.map(printName).join(', ')})`;
  const props = Object.fromEntries(
    Object.entries(node).filter(([k]) => k !== 'name' && k !== 'op' && (k !== 'inputs' || !inputs)),
  );
  if (Object.keys(props).length === 0) return head;
  return `${head} ${printObject(props, INDENT.length + head.length + 1, INDENT)}`;
}
