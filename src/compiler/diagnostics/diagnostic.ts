import type { Span } from './source.js';

export type Severity = 'error' | 'warning' | 'note';

/** One diagnostic shape for every stage (esbuild's logger): parse, schema, semantic and shape errors. */
export interface Diagnostic {
  readonly severity: Severity;
  /** A stable code such as E201; see `codes.ts`. */
  readonly code: string;
  readonly message: string;
  /** Where it is; absent only for problems of a whole file that has no text (e.g. unreadable). */
  readonly span?: Span;
  /** Extra lines printed under the frame ("note: ..."). */
  readonly notes: readonly string[];
  /** A replacement that would fix it (e.g. the did-you-mean name). */
  readonly suggestion?: string;
}

/** The result of every stage that can fail: stages never throw on bad input. */
export interface Result<T> {
  readonly value: T | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

export function error(
  code: string,
  message: string,
  span?: Span,
  notes: readonly string[] = [],
  suggestion?: string,
): Diagnostic {
  return { severity: 'error', code, message, span, notes, suggestion };
}

export function warning(code: string, message: string, span?: Span, notes: readonly string[] = []): Diagnostic {
  return { severity: 'warning', code, message, span, notes };
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Orders diagnostics by file position, then code, for stable output. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort((a, b) => (a.span?.start ?? -1) - (b.span?.start ?? -1) || a.code.localeCompare(b.code));
}

/** Collected diagnostics are capped so a badly broken file still prints a readable report. */
export const MAX_DIAGNOSTICS = 50;
