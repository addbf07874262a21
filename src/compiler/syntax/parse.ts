/**
 * `parseDsl`: lexes, parses (with recovery) and visits a DSL spec. Never throws: every problem is a
 * diagnostic, and any error at all means no value.
 */
import { EOF, tokenMatcher, type ILexingError, type IRecognitionException, type IToken } from 'chevrotain';
import {
  Codes,
  error,
  hasErrors,
  MAX_DIAGNOSTICS,
  sortDiagnostics,
  span,
  type Diagnostic,
  type Result,
  type Source,
  type Span,
} from '../diagnostics/index.js';
import type { SpecDocument } from '../spec/document.js';
import { DocBuilder } from './builder.js';
import type { SpecCstNode } from './cst.js';
import { dslParser, messages } from './parser.js';
import { dslLexer, LBracket, LCurly, LParen, RBracket, RCurly, RParen, StringLiteral } from './tokens.js';
import { terminatedString } from './values.js';
import { visitSpec } from './visitor.js';

/**
 * Parses DSL text into a `SpecDocument` (format 'dsl'): the plain value, the span of every value
 * and the span of every member's key. On any error the value is undefined and the diagnostics hold
 * every error found (E102 lexical, E103 syntax, E104 unknown statement, E105 given twice).
 */
export function parseDsl(source: Source): Result<SpecDocument> {
  try {
    return parseOrThrow(source);
  } catch (e) {
    // Last resort: a bug in the front end must still come out as a diagnostic, not a crash.
    const message = e instanceof Error ? e.message : String(e);
    return {
      value: undefined,
      diagnostics: [error(Codes.dslSyntax, `internal error in the DSL parser: ${message}`, span(source, 0, 0))],
    };
  } finally {
    dslParser.input = [];
    messages.tokens = [];
  }
}

function parseOrThrow(source: Source): Result<SpecDocument> {
  const lexed = dslLexer.tokenize(source.body);
  const diagnostics: Diagnostic[] = lexed.errors.map((e) => lexError(source, e));
  diagnostics.push(...checkStrings(source, lexed.tokens));
  const tooDeep = checkNesting(source, lexed.tokens);
  if (tooDeep) return { value: undefined, diagnostics: [...diagnostics, tooDeep].slice(0, MAX_DIAGNOSTICS) };
  // A copy: the parser pads its input with end-of-file sentinels while it runs.
  messages.tokens = [...lexed.tokens];
  dslParser.input = lexed.tokens;
  const cst = dslParser.spec() as SpecCstNode | undefined;
  for (const e of dslParser.errors) diagnostics.push(syntaxError(source, e, lexed.tokens));
  const builder = new DocBuilder(source);
  if (cst !== undefined && cst.children !== undefined) visitSpec(builder, cst);
  // A word that failed a statement's syntax is also read as an unknown statement by recovery: one report is enough.
  const syntaxAt = new Set(diagnostics.filter((d) => d.code === Codes.dslSyntax).map((d) => d.span?.start));
  diagnostics.push(
    ...builder.diagnostics.filter((d) => d.code !== Codes.dslUnknownKeyword || !syntaxAt.has(d.span?.start)),
  );
  const sorted = dedupe(sortDiagnostics(diagnostics)).slice(0, MAX_DIAGNOSTICS);
  if (hasErrors(sorted)) return { value: undefined, diagnostics: sorted };
  const value: SpecDocument = {
    source,
    format: 'dsl',
    value: builder.root,
    spans: builder.spans,
    keySpans: builder.keySpans,
  };
  return { value, diagnostics: sorted };
}

function lexError(source: Source, e: ILexingError): Diagnostic {
  const text = source.body.slice(e.offset, e.offset + e.length);
  const shown = text.length > 20 ? `${text.slice(0, 20)}...` : text;
  const message = text.length === 1 ? `unexpected character '${shown}'` : `unexpected characters '${shown}'`;
  return error(Codes.dslLex, message, span(source, e.offset, e.offset + e.length));
}

/** Strings lex even when unterminated or with an unknown escape, so the parse goes on; report them here. */
function checkStrings(source: Source, tokens: readonly IToken[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const t of tokens) {
    if (t.tokenType !== StringLiteral) continue;
    if (!terminatedString.test(t.image)) {
      out.push(error(Codes.dslLex, 'unterminated string', span(source, t.startOffset, t.startOffset + t.image.length)));
      continue;
    }
    const bad = /\\[^"\\nrt]/.exec(t.image.replace(/\\\\/g, '__'));
    if (bad) {
      const at = t.startOffset + bad.index;
      out.push(
        error(
          Codes.dslLex,
          `unknown escape '${t.image.slice(bad.index, bad.index + 2)}' in a string`,
          span(source, at, at + 2),
        ),
      );
    }
  }
  return out;
}

/** Brackets nested deeper than any spec needs; the parser recurses per level, so deeper input is refused. */
export const MAX_NESTING = 100;

function checkNesting(source: Source, tokens: readonly IToken[]): Diagnostic | undefined {
  let depth = 0;
  for (const t of tokens) {
    if (t.tokenType === LCurly || t.tokenType === LBracket || t.tokenType === LParen) depth++;
    else if (t.tokenType === RCurly || t.tokenType === RBracket || t.tokenType === RParen)
      depth = Math.max(0, depth - 1);
    if (depth > MAX_NESTING) {
      return error(
        Codes.dslSyntax,
        `brackets nested more than ${MAX_NESTING} deep`,
        span(source, t.startOffset, t.startOffset + 1),
      );
    }
  }
  return undefined;
}

function syntaxError(source: Source, e: IRecognitionException, tokens: readonly IToken[]): Diagnostic {
  return error(Codes.dslSyntax, e.message, tokenSpan(source, e.token, tokens));
}

/** The offending token; the end of the file is pointed at just after the last token. */
function tokenSpan(source: Source, t: IToken | undefined, tokens: readonly IToken[]): Span {
  if (t !== undefined && !tokenMatcher(t, EOF) && !Number.isNaN(t.startOffset)) {
    return span(source, t.startOffset, (t.endOffset ?? t.startOffset) + 1);
  }
  const last = tokens[tokens.length - 1];
  const end = last === undefined ? 0 : (last.endOffset ?? last.startOffset) + 1;
  return span(source, end, end);
}

function dedupe(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.span?.start}:${d.code}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
