import type { Source, Span } from '../diagnostics/index.js';

/** Plain data, as JSON has it: what both front ends produce before validation. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * A parsed spec before validation: the plain value (same shape for YAML and DSL, checked by the
 * one JSON Schema) and where each part of it came from.
 *
 * Paths are JSON Pointers, as ajv reports them: '' is the root, '/network/filters/2' an item.
 */
export interface SpecDocument {
  readonly source: Source;
  readonly format: 'yaml' | 'dsl';
  readonly value: JsonValue;
  /** The span of the value at each path. */
  readonly spans: ReadonlyMap<string, Span>;
  /** The span of the key of each object member, by the member's path (e.g. '/network/depth'). */
  readonly keySpans: ReadonlyMap<string, Span>;
}

/** JSON Pointer for a path of keys and indices. */
export function pointer(parts: readonly (string | number)[]): string {
  return parts.map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** The parts of a JSON Pointer. */
export function pointerParts(path: string): string[] {
  if (path === '') return [];
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The span of the value at `path`, or of its nearest ancestor that has one. */
export function valueSpan(doc: SpecDocument, path: string): Span | undefined {
  let p = path;
  for (;;) {
    const s = doc.spans.get(p);
    if (s) return s;
    if (p === '') return undefined;
    p = p.slice(0, p.lastIndexOf('/'));
  }
}

/** The span of the key at `path` when it is an object member, else the value's span. */
export function keySpan(doc: SpecDocument, path: string): Span | undefined {
  return doc.keySpans.get(path) ?? valueSpan(doc, path);
}
