/**
 * Collects the plain value of a DSL spec together with the span of every value and key, and
 * reports keys given twice (E105). The CST visitor (visitor.ts) drives it.
 */
import type { CstNode, IToken } from 'chevrotain';
import { Codes, error, lineCol, span, type Diagnostic, type Source, type Span } from '../diagnostics/index.js';
import type { JsonValue } from '../spec/document.js';

/** A JSON object under construction. */
export type MutableObject = { [key: string]: JsonValue };

/** Token lists as the CST has them: a list the grammar guarantees may still be missing after recovery. */
export type Tokens = readonly IToken[] | undefined;

/** The first token of a CST child list, if any. */
export function tok(tokens: Tokens): IToken | undefined {
  return tokens?.[0];
}

/** A member path below `parent` (JSON Pointer escaping of the key). */
export function childPath(parent: string, key: string | number): string {
  return `${parent}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/** Sets an own property, `__proto__` included (a plain assignment would change the prototype). */
export function defineMember(obj: MutableObject, key: string, value: JsonValue): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function isNode(x: IToken | CstNode): x is CstNode {
  return 'children' in x;
}

export class DocBuilder {
  readonly root: MutableObject = {};
  readonly spans = new Map<string, Span>();
  readonly keySpans = new Map<string, Span>();
  readonly diagnostics: Diagnostic[] = [];

  constructor(readonly source: Source) {}

  /** The span of a token (offsets are inclusive in Chevrotain, half-open here). */
  tokenSpan(t: IToken): Span {
    return span(this.source, t.startOffset, (t.endOffset ?? t.startOffset) + 1);
  }

  /** The span of a CST node, or of the tokens and nodes from `first` to `last`. */
  range(first: IToken | CstNode, last: IToken | CstNode = first): Span {
    const start = isNode(first) ? first.location?.startOffset : first.startOffset;
    const end = isNode(last) ? last.location?.endOffset : last.endOffset;
    return span(this.source, start ?? NaN, (end ?? NaN) + 1);
  }

  /**
   * Claims member `key` of `obj` (at `parentPath`), introduced by the key at `keySpan`. Returns the
   * member's path, or undefined when it was given before (reported as E105: "`what` given twice",
   * or `what` itself when it already says so).
   */
  claim(obj: MutableObject, parentPath: string, key: string, keySpan: Span, what: string): string | undefined {
    const path = childPath(parentPath, key);
    if (Object.prototype.hasOwnProperty.call(obj, key)) {
      // Tokens inserted by error recovery have no position: that error is reported already.
      if (!Number.isNaN(keySpan.start)) {
        const first = this.keySpans.get(path);
        const notes = first ? [`first given at line ${lineCol(this.source, first.start).line}`] : [];
        this.diagnostics.push(
          error(Codes.duplicateKey, what.includes(' given twice') ? what : `${what} given twice`, keySpan, notes),
        );
      }
      return undefined;
    }
    this.keySpans.set(path, keySpan);
    return path;
  }

  /** Stores a claimed member's value and its span. */
  set(obj: MutableObject, path: string, key: string, value: JsonValue, valueSpan: Span): void {
    defineMember(obj, key, value);
    this.spans.set(path, valueSpan);
  }

  /** Claims and stores a member in one step; false when it was given before. */
  member(
    obj: MutableObject,
    parentPath: string,
    key: string,
    value: JsonValue,
    keySpan: Span,
    valueSpan: Span,
    what: string,
  ): boolean {
    const path = this.claim(obj, parentPath, key, keySpan, what);
    if (path === undefined) return false;
    this.set(obj, path, key, value, valueSpan);
    return true;
  }

  /**
   * The object member `key` of `obj`, created (with the given spans) by the first statement that
   * writes into it: `network` and `network.blocks` collect several statements.
   */
  child(obj: MutableObject, parentPath: string, key: string, keySpan: Span, valueSpan: Span): MutableObject {
    const existing = obj[key];
    if (
      Object.prototype.hasOwnProperty.call(obj, key) &&
      typeof existing === 'object' &&
      existing !== null &&
      !Array.isArray(existing)
    ) {
      return existing as MutableObject;
    }
    const created: MutableObject = {};
    const path = childPath(parentPath, key);
    this.keySpans.set(path, keySpan);
    this.set(obj, path, key, created, valueSpan);
    return created;
  }
}
