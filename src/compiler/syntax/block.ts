/**
 * The CST visitor for `block` statements: the template sugar `N x [unit] -> dropout R { ... }`
 * becomes `network.block` (the step names are its `order`, their arguments its other fields) and
 * `block NAME { ... }` becomes `network.blocks.NAME`.
 */
import type { IToken } from 'chevrotain';
import type { Span } from '../diagnostics/index.js';
import type { JsonValue } from '../spec/document.js';
import { childPath, tok, type DocBuilder, type MutableObject } from './builder.js';
import type { BlockStatementCstNode, BlockTemplateCstNode, RateCstNode, StepCstNode } from './cst.js';
import { nameOf, numberOf, objectOf, sizeOf, sizeSpans } from './values.js';

/** Where the visitor writes one block field: the template object and its path. */
interface Target {
  readonly b: DocBuilder;
  readonly block: MutableObject;
  readonly path: string;
}

/** Visits a `block` statement, writing into the `network` object at '/network'. */
export function visitBlock(b: DocBuilder, network: MutableObject, node: BlockStatementCstNode): void {
  const c = node.children;
  const keyword = tok(c.Block);
  if (keyword === undefined) return;
  const template = c.blockTemplate?.[0] ?? c.templateObject?.[0];
  if (template !== undefined) {
    const path = b.claim(network, '/network', 'block', b.tokenSpan(keyword), 'block template');
    if (path === undefined) return;
    const block: MutableObject = {};
    b.set(network, path, 'block', block, b.range(template));
    if (template.name === 'blockTemplate') visitTemplate({ b, block, path }, template);
    else objectOf(b, template, path, block);
    return;
  }
  const name = nameOf(c.blockName?.[0]);
  const override = c.overrideObject?.[0];
  if (name === undefined || override === undefined) return;
  const blocks = b.child(network, '/network', 'blocks', b.tokenSpan(keyword), b.range(node));
  const path = b.claim(blocks, '/network/blocks', name.text, b.tokenSpan(name.token), `block '${name.text}'`);
  if (path === undefined) return;
  b.set(blocks, path, name.text, objectOf(b, override, path), b.range(override));
}

function visitTemplate(t: Target, node: BlockTemplateCstNode): void {
  const { b, block, path } = t;
  const c = node.children;
  const count = tok(c.count);
  if (count) field(t, 'convs', numberOf(count), b.tokenSpan(count), b.tokenSpan(count));
  const open = tok(c.LBracket);
  const close = tok(c.RBracket);
  const steps = c.unit?.[0]?.children.step ?? [];
  const order: string[] = [];
  if (open && close) field(t, 'order', order, b.range(open, close), b.range(open, close));
  for (const step of steps) visitStep(t, step, order);
  // `-> dropout R` after the unit: dropout once, at the end of the block.
  const blockDropout = tok(c.Dropout);
  if (blockDropout) {
    const s = b.tokenSpan(blockDropout);
    const rate = c.rate?.[0];
    if (rate) rateField(t, rate, s);
    field(t, 'dropout_at', 'block', s, s);
  }
  const extra = c.object?.[0];
  if (extra) objectOf(b, extra, path, block);
}

/** Appends a step's name to the order and sets the fields its arguments give. */
function visitStep(t: Target, node: StepCstNode, order: string[]): void {
  const { b, path } = t;
  const c = node.children;
  const orderItem = (name: string, token: IToken): void => {
    b.spans.set(childPath(childPath(path, 'order'), order.length), b.tokenSpan(token));
    order.push(name);
  };
  const conv = c.convStep?.[0]?.children;
  const leaky = c.leakyReluStep?.[0]?.children;
  const bn = c.batchnormStep?.[0]?.children;
  const dropout = c.dropoutStep?.[0]?.children;
  const conv0 = tok(conv?.Conv);
  const leaky0 = tok(leaky?.LeakyRelu);
  const bn0 = tok(bn?.Batchnorm);
  const dropout0 = tok(dropout?.Dropout);
  if (conv && conv0) {
    orderItem('conv', conv0);
    const key = b.tokenSpan(conv0);
    const kernel = tok(conv.kernel);
    if (kernel) {
      const s = b.tokenSpan(kernel);
      // `3x3` (`3x3x3` for input dims 3) is the square kernel 3; any other size stays a list, so
      // `3x3` in a 3D network is reported (E311) instead of read as 3x3x3.
      const sizes = kernel.tokenType.name === 'SizeLiteral' ? sizeOf(kernel) : [numberOf(kernel)];
      const input = b.root.input as { dims?: unknown } | undefined;
      const dims = typeof input === 'object' && input !== null && input.dims === 3 ? 3 : 2;
      if (sizes.every((k) => k === sizes[0]) && (sizes.length === 1 || sizes.length === dims))
        field(t, 'kernel', sizes[0]!, key, s);
      else if (field(t, 'kernel', sizes, key, s)) sizeSpans(b, childPath(path, 'kernel'), s);
    }
    const padding = tok(conv.padding);
    if (padding) field(t, 'padding', padding.image, key, b.tokenSpan(padding));
    const bias = tok(conv.bias);
    if (bias) field(t, 'bias', bias.image === 'bias', key, b.tokenSpan(bias));
  } else if (leaky && leaky0) {
    orderItem('leaky-relu', leaky0);
    const alpha = tok(leaky.NumberLiteral);
    if (alpha) field(t, 'leaky_alpha', numberOf(alpha), b.tokenSpan(leaky0), b.tokenSpan(alpha));
  } else if (bn && bn0) {
    orderItem('batchnorm', bn0);
    pairs(t, 'bn_epsilon', bn.Epsilon, bn.epsilon);
    pairs(t, 'bn_momentum', bn.Momentum, bn.momentum);
  } else if (dropout && dropout0) {
    orderItem('dropout', dropout0);
    const rate = dropout.rate?.[0];
    if (rate) rateField(t, rate, b.tokenSpan(dropout0));
  } else {
    const name = nameOf(c.nameValue?.[0]);
    if (name) orderItem(name.text, name.token);
  }
}

/** `epsilon 1e-3`-style arguments: each keyword with its number (a repeat is E105). */
function pairs(
  t: Target,
  key: string,
  keywords: readonly IToken[] | undefined,
  numbers: readonly IToken[] | undefined,
): void {
  (keywords ?? []).forEach((k, i) => {
    const n = numbers?.[i];
    if (n) field(t, key, numberOf(n), t.b.tokenSpan(k), t.b.tokenSpan(n));
  });
}

/** A dropout rate or per-level list, keyed by the `dropout` token at `key`. */
function rateField(t: Target, node: RateCstNode, key: Span): void {
  const { b, path } = t;
  const single = tok(node.children.NumberLiteral);
  if (single) {
    field(t, 'dropout', numberOf(single), key, b.tokenSpan(single));
    return;
  }
  const list = node.children.numberList?.[0];
  if (!list) return;
  const numbers = list.children.NumberLiteral ?? [];
  if (field(t, 'dropout', numbers.map(numberOf), key, b.range(list))) {
    numbers.forEach((n, i) => b.spans.set(childPath(childPath(path, 'dropout'), i), b.tokenSpan(n)));
  }
}

function field(t: Target, key: string, value: JsonValue, keySpan: Span, valueSpan: Span): boolean {
  return t.b.member(t.block, t.path, key, value, keySpan, valueSpan, `'${key}'`);
}
