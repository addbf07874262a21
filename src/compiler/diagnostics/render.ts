import type { Diagnostic } from './diagnostic.js';
import { lineCol, lineText } from './source.js';

/** `file:line:col: error[CODE] message` (the form tests assert on). */
export function formatOneLine(d: Diagnostic): string {
  return `${location(d)}: ${d.severity}[${d.code}] ${d.message}`;
}

function location(d: Diagnostic): string {
  if (!d.span) return 'unetc';
  const { line, column } = lineCol(d.span.source, d.span.start);
  return `${d.span.source.name}:${line}:${column}`;
}

export interface FrameOptions {
  readonly color: boolean;
}

const ansi = {
  red: '\x1b[31m',
  yellow: '\x1b[33m',
  cyan: '\x1b[36m',
  bold: '\x1b[1m',
  dim: '\x1b[2m',
  reset: '\x1b[0m',
};

/**
 * A code frame for people (rustc/esbuild style):
 *
 *   error[E201]: unknown key 'dephth'
 *     --> specs/bad.yaml:4:3
 *      |
 *    4 |   dephth: 4
 *      |   ^^^^^^ did you mean 'depth'?
 *      = note: ...
 */
export function formatFrame(d: Diagnostic, options: FrameOptions): string {
  const c = (code: string, text: string) => (options.color ? `${code}${text}${ansi.reset}` : text);
  const sevColor = d.severity === 'error' ? ansi.red : d.severity === 'warning' ? ansi.yellow : ansi.cyan;
  const out: string[] = [];
  out.push(`${c(ansi.bold + sevColor, `${d.severity}[${d.code}]`)}${c(ansi.bold, `: ${d.message}`)}`);
  if (d.span) {
    const start = lineCol(d.span.source, d.span.start);
    const end = lineCol(d.span.source, Math.max(d.span.start, d.span.end - 1));
    const gutter = String(start.line).length;
    const pad = ' '.repeat(gutter);
    out.push(`${pad}${c(ansi.cyan, '-->')} ${d.span.source.name}:${start.line}:${start.column}`);
    // Tabs become one space and control characters a visible dot, one column each, so the caret stays aligned
    // and a hostile file cannot drive the terminal.
    // eslint-disable-next-line no-control-regex -- control characters are what it replaces
    const controls = /[\x00-\x08\x0b-\x1f\x7f]/g;
    const text = lineText(d.span.source, start.line).replace(/\t/g, ' ').replace(controls, '\u00b7');
    out.push(`${pad} ${c(ansi.cyan, '|')}`);
    out.push(`${c(ansi.cyan, `${start.line} |`)} ${text}`);
    const lastCol = end.line === start.line ? end.column : text.length;
    const width = Math.max(1, lastCol - start.column + 1);
    const label = d.suggestion !== undefined ? ` did you mean '${d.suggestion}'?` : '';
    out.push(`${pad} ${c(ansi.cyan, '|')} ${' '.repeat(start.column - 1)}${c(sevColor, '^'.repeat(width) + label)}`);
  }
  for (const note of d.notes)
    out.push(
      `${d.span ? ' '.repeat(String(lineCol(d.span.source, d.span.start).line).length) + ' ' : ''}${c(ansi.cyan, '=')} note: ${note}`,
    );
  return out.join('\n');
}

/** A JSON-ready object for tools (`--json`); positions are 1-based lines and columns plus offsets. */
export function toJson(d: Diagnostic): Record<string, unknown> {
  const base: Record<string, unknown> = { severity: d.severity, code: d.code, message: d.message };
  if (d.span) {
    const start = lineCol(d.span.source, d.span.start);
    const end = lineCol(d.span.source, d.span.end);
    base.file = d.span.source.name;
    base.start = { line: start.line, column: start.column, offset: d.span.start };
    base.end = { line: end.line, column: end.column, offset: d.span.end };
  }
  if (d.notes.length > 0) base.notes = d.notes;
  if (d.suggestion !== undefined) base.suggestion = d.suggestion;
  return base;
}

/** "2 errors, 1 warning" */
export function summarize(diagnostics: readonly Diagnostic[], omitted = 0): string {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.filter((d) => d.severity === 'warning').length;
  const parts = [`${errors} error${errors === 1 ? '' : 's'}`];
  if (warnings > 0) parts.push(`${warnings} warning${warnings === 1 ? '' : 's'}`);
  return `${parts.join(', ')}${omitted > 0 ? ` shown, ${omitted} more not shown` : ''}`;
}
