/**
 * Printing of DSL literals and generic properties: names (quoted when they would not lex back as
 * the same name), numbers (so they parse back to the same number) and `{ KEY VALUE ... }` objects.
 */
import type { JsonValue } from '../spec/document.js';
import { statementWords } from './tokens.js';

/** The line width under which a generic object stays on one line. */
export const LINE_WIDTH = 80;

const identifier = /^[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9][A-Za-z0-9_]*)*$/;
const statements = new Set(statementWords);

/** Keys whose two-integer lists print as sizes (`256x256`). */
const sizeKeys = new Set(['size', 'patch', 'kernel', 'pool', 'stride', 'scale']);

export type JsonObject = { readonly [key: string]: JsonValue };

export function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A string literal: `"` and `\` escaped, line breaks and tabs as `\n`, `\r`, `\t`. */
export function quote(s: string): string {
  const body = s.replace(
    /[\\"\n\r\t]/g,
    (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c] ?? c,
  );
  return `"${body}"`;
}

/** A name where any word is read as a name (keys, block and node names, steps). */
export function printName(s: string): string {
  return identifier.test(s) ? s : quote(s);
}

/**
 * A name where a statement keyword would start the next statement (activations, `down NAME`, ops);
 * `reserved` adds the words that mean something else there.
 */
export function printPlainName(s: string, reserved: ReadonlySet<string> = new Set()): string {
  return identifier.test(s) && !statements.has(s) && !reserved.has(s) ? s : quote(s);
}

/** A number as it parses back (`-0` included); non-finite numbers have no JSON form and print as is. */
export function printNumber(n: number): string {
  return Object.is(n, -0) ? '-0' : String(n);
}

/** A kernel or size of two (or three) non-negative integers as `HxW` (`DxHxW`), if it is one. */
export function printSize(v: JsonValue | undefined): string | undefined {
  if (!Array.isArray(v) || (v.length !== 2 && v.length !== 3)) return undefined;
  const items = v as readonly JsonValue[];
  return items.every(isCount) ? items.join('x') : undefined;
}

/** A non-negative integer that prints as plain digits. */
export function isCount(v: JsonValue | undefined): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && !Object.is(v, -0);
}

/** A scalar in a statement position; other values print as generic values (and may not parse there). */
export function printScalar(v: JsonValue | undefined): string {
  if (typeof v === 'number') return printNumber(v);
  if (typeof v === 'string') return quote(v);
  return printValue(v ?? null, '', 0);
}

/**
 * A generic value: `true`/`false` booleans, names bare when they lex back as the same string
 * (`"true"` stays quoted), two-integer lists under size keys as `HxW`, lists as `[a b c]`.
 * `null` has no DSL form; it prints as the name `null` (schema-valid specs have none).
 */
export function printValue(v: JsonValue, key: string, column: number, indent = ''): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return printNumber(v);
  if (typeof v === 'string') return identifier.test(v) && v !== 'true' && v !== 'false' ? v : quote(v);
  if (Array.isArray(v)) {
    const size = sizeKeys.has(key) ? printSize(v) : undefined;
    return size ?? `[${(v as readonly JsonValue[]).map((item) => printValue(item, '', column, indent)).join(' ')}]`;
  }
  return printObject(v as JsonObject, column, indent);
}

/**
 * Generic properties. One line (`{ a 1 b 2 }`) when no value is a non-empty object and the line
 * ends by column LINE_WIDTH; otherwise one property per line, indented two more than `indent`.
 */
export function printObject(obj: JsonObject, column: number, indent: string): string {
  const keys = Object.keys(obj);
  if (keys.length === 0) return '{}';
  const inline = `{ ${keys.map((k) => `${printName(k)} ${printValue(obj[k] ?? null, k, 0, indent)}`).join(' ')} }`;
  if (!keys.some((k) => hasObject(obj[k])) && column + inline.length <= LINE_WIDTH && !inline.includes('\n'))
    return inline;
  const inner = `${indent}  `;
  const lines = keys.map((k) => {
    const head = `${inner}${printName(k)} `;
    return head + printValue(obj[k] ?? null, k, head.length, inner);
  });
  return `{\n${lines.join('\n')}\n${indent}}`;
}

function hasObject(v: JsonValue | undefined): boolean {
  if (isObject(v)) return Object.keys(v).length > 0;
  return Array.isArray(v) && (v as readonly JsonValue[]).some(hasObject);
}
