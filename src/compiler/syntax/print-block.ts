/**
 * Printing of the block template in its sugar, `N x [conv 3x3 same -> relu -> ...] -> dropout R`:
 * each field goes into the first step of its kind; a field the sugar cannot hold (no such step,
 * `dropout_at: conv`, a value of the wrong type) goes into trailing `{ ... }` properties.
 */
import type { JsonValue } from '../spec/document.js';
import { isCount, printName, printNumber, printObject, printSize, type JsonObject } from './print-values.js';

/** The unit order a block template without `order` has (schema: the reference order). */
export const DEFAULT_ORDER: readonly string[] = ['conv', 'relu', 'batchnorm', 'dropout'];

/** A field taken out of the remaining ones when `text` (its DSL form) exists. */
type Take = (key: string, text: (v: JsonValue) => string | undefined) => string | undefined;

/**
 * The text after `block ` for the template `b` (`column` is where it starts, for line width).
 * An empty template prints as `{}`; a template whose order is not a list of names as `{ ... }`.
 */
export function printTemplate(b: JsonObject, column: number, indent: string, dims: 2 | 3 = 2): string {
  const order = b.order === undefined ? DEFAULT_ORDER : b.order;
  if (
    Object.keys(b).length === 0 ||
    !Array.isArray(order) ||
    order.length === 0 ||
    !order.every((s) => typeof s === 'string')
  ) {
    return printObject(b, column, indent);
  }
  const steps = order as readonly string[];
  const rest = new Map(Object.entries(b));
  rest.delete('order');
  const take: Take = (key, text) => {
    if (!rest.has(key)) return undefined;
    const t = text(rest.get(key) ?? null);
    if (t !== undefined) rest.delete(key);
    return t;
  };
  const count = take('convs', (v) => (typeof v === 'number' ? `${printNumber(v)} x ` : undefined)) ?? '';
  const args = new Map<string, string[]>();
  const argsOf = (step: string): string[] | undefined =>
    steps.includes(step) ? (args.get(step) ?? args.set(step, []).get(step)) : undefined;
  const push = (step: string, key: string, text: (v: JsonValue) => string | undefined): void => {
    const list = argsOf(step);
    if (list === undefined) return;
    const t = take(key, text);
    if (t !== undefined) list.push(t);
  };
  push('conv', 'kernel', (v) => kernelText(v, dims));
  push('conv', 'padding', (v) => (v === 'same' || v === 'valid' ? v : undefined));
  push('conv', 'bias', (v) => (v === true ? 'bias' : v === false ? 'nobias' : undefined));
  push('leaky-relu', 'leaky_alpha', numberText);
  push('batchnorm', 'bn_epsilon', (v) => prefixed('epsilon', numberText(v)));
  push('batchnorm', 'bn_momentum', (v) => prefixed('momentum', numberText(v)));
  let end = '';
  if (b.dropout_at === 'block') {
    rest.delete('dropout_at');
    end = ` -> dropout${prefixed('', take('dropout', rateText)) ?? ''}`;
  } else {
    push('dropout', 'dropout', rateText);
  }
  const seen = new Set<string>();
  const unit = steps.map((step) => {
    const first = !seen.has(step);
    seen.add(step);
    const stepArgs = first ? (args.get(step) ?? []) : [];
    return [printName(step), ...stepArgs].join(' ');
  });
  const head = `${count}[${unit.join(' -> ')}]${end}`;
  if (rest.size === 0) return head;
  return `${head} ${printObject(Object.fromEntries(rest), column + head.length + 1, indent)}`;
}

/** A square kernel as `3x3` (`3x3x3` in 3D), so it reads back as the scalar for that network. */
function kernelText(v: JsonValue, dims: 2 | 3): string | undefined {
  if (isCount(v)) return Array.from({ length: dims }, () => v).join('x');
  if (typeof v === 'number') return printNumber(v);
  return printSize(v);
}

function numberText(v: JsonValue): string | undefined {
  return typeof v === 'number' ? printNumber(v) : undefined;
}

/** A rate, or one per level as `[a b c]`. */
function rateText(v: JsonValue): string | undefined {
  if (typeof v === 'number') return printNumber(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'number'))
    return `[${(v as readonly number[]).map(printNumber).join(' ')}]`;
  return undefined;
}

function prefixed(word: string, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  return word === '' ? ` ${text}` : `${word} ${text}`;
}
