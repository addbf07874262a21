/**
 * The normalization printDsl documents: what `parseDsl(printDsl(v))` gives for a valid value v.
 * - an empty `network.blocks` is dropped;
 * - a block template with fields but no `order` gets the default order;
 * - then, when that order has a `conv` step (which carries the kernel), a square kernel [k, k] is k.
 */
import type { JsonValue } from '../../src/compiler/spec/document.js';

type Obj = { [key: string]: unknown };

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function normalizeForDsl(v: JsonValue): JsonValue {
  const copy: unknown = structuredClone(v);
  if (!isObj(copy) || !isObj(copy.network)) return copy as JsonValue;
  const network = copy.network;
  if (isObj(network.blocks) && Object.keys(network.blocks).length === 0) delete network.blocks;
  const block = network.block;
  if (!isObj(block)) return copy as JsonValue;
  if (Object.keys(block).length > 0 && block.order === undefined)
    block.order = ['conv', 'relu', 'batchnorm', 'dropout'];
  const k = block.kernel;
  const order = block.order;
  if (
    Array.isArray(order) &&
    order.includes('conv') &&
    Array.isArray(k) &&
    k.length === 2 &&
    k[0] === k[1] &&
    Number.isSafeInteger(k[0]) &&
    k[0] >= 0
  ) {
    block.kernel = k[0] as number;
  }
  return copy as JsonValue;
}
