/**
 * The CST visitor for literals and generic properties: numbers, sizes, strings, names, lists and
 * `{ KEY VALUE ... }` objects, with the span of every value.
 */
import type { IToken } from 'chevrotain';
import type { Span } from '../diagnostics/index.js';
import type { JsonValue } from '../spec/document.js';
import { childPath, tok, type DocBuilder, type MutableObject } from './builder.js';
import type { ListCstNode, NameValueCstNode, ObjectCstNode, PlainValueCstNode, ValueCstNode } from './cst.js';

const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t' };

/** A string literal with its closing quote (the token also matches unterminated strings). */
export const terminatedString = /^"(?:[^"\\\r\n]|\\[^\r\n])*"$/;

/** The text of a string literal. Unknown escapes keep their character (the lexer check reports them). */
export function unquote(image: string): string {
  const body = terminatedString.test(image) ? image.slice(1, -1) : image.slice(1);
  return body.replace(/\\(.?)/gs, (_, c: string) => escapes[c] ?? c);
}

/** A number literal's value (`-0` stays negative zero, as JSON.parse would give). */
export function numberOf(t: IToken): number {
  return Number(t.image);
}

/** `256x128` as [256, 128]; `32x64x64` as [32, 64, 64]. */
export function sizeOf(t: IToken): number[] {
  return t.image.split('x').map(Number);
}

/** A name written as a word or a string, with its token. */
export interface NameToken {
  readonly text: string;
  readonly token: IToken;
}

/** The name in a `nameValue` or `plainValue` node. */
export function nameOf(node: NameValueCstNode | PlainValueCstNode | undefined): NameToken | undefined {
  if (node === undefined) return undefined;
  const word = node.name === 'nameValue' ? tok(node.children.Name) : tok(node.children.PlainName);
  if (word !== undefined) return { text: word.image, token: word };
  const str = tok(node.children.StringLiteral);
  return str === undefined ? undefined : { text: unquote(str.image), token: str };
}

/** Records the spans of a size's items (all point at the size token). */
export function sizeSpans(b: DocBuilder, path: string, s: Span, items = 3): void {
  for (let i = 0; i < items; i++) b.spans.set(childPath(path, i), s);
}

/** A generic value (`true`/`false` are booleans, `3x3` a size), recording its spans at `path`. */
export function valueOf(b: DocBuilder, node: ValueCstNode, path: string): JsonValue {
  const c = node.children;
  const number = tok(c.NumberLiteral);
  if (number) return leaf(b, path, number, numberOf(number));
  const size = tok(c.SizeLiteral);
  if (size) {
    sizeSpans(b, path, b.tokenSpan(size));
    return leaf(b, path, size, sizeOf(size));
  }
  const str = tok(c.StringLiteral);
  if (str) return leaf(b, path, str, unquote(str.image));
  const word = tok(c.Name);
  if (word) return leaf(b, path, word, word.image === 'true' ? true : word.image === 'false' ? false : word.image);
  const list = c.list?.[0];
  if (list) return listOf(b, list, path);
  const obj = c.object?.[0];
  if (obj) return objectOf(b, obj, path);
  b.spans.set(path, b.range(node));
  return null;
}

function leaf(b: DocBuilder, path: string, t: IToken, value: JsonValue): JsonValue {
  b.spans.set(path, b.tokenSpan(t));
  return value;
}

function listOf(b: DocBuilder, node: ListCstNode, path: string): JsonValue[] {
  b.spans.set(path, b.range(node));
  return (node.children.value ?? []).map((v, i) => valueOf(b, v, childPath(path, i)));
}

/**
 * The properties of a `{ ... }` node, added to `target` (so the block template's extra fields
 * merge with those its unit set; the caller records the span then). Keys given twice are E105.
 * A new object's span is its braces.
 */
export function objectOf(b: DocBuilder, node: ObjectCstNode, path: string, target?: MutableObject): MutableObject {
  const obj = target ?? {};
  if (target === undefined) b.spans.set(path, b.range(node));
  for (const p of node.children.property ?? []) {
    const key = nameOf(p.children.key?.[0]);
    const value = p.children.value?.[0];
    if (key === undefined || value === undefined) continue;
    const memberPath = b.claim(obj, path, key.text, b.tokenSpan(key.token), `key '${key.text}'`);
    if (memberPath === undefined) continue;
    b.set(obj, memberPath, key.text, valueOf(b, value, memberPath), b.spans.get(memberPath) ?? b.range(value));
  }
  return obj;
}
