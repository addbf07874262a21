import { readFileSync } from 'node:fs';
import { errnoText, writeFileAtomicSync } from '../runtime/data/atomic.js';
import {
  Codes,
  error,
  formatFrame,
  formatOneLine,
  summarize,
  toJson,
  type Diagnostic,
  type Source,
} from '../compiler/index.js';

/** Where the CLI writes; tests pass their own. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Color code frames (off under NO_COLOR or when stderr is not a terminal). */
  readonly color: boolean;
  /** stdout is a terminal (progress rewrites one line). */
  readonly tty?: boolean;
}

export const processIO: CliIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  color: !process.env.NO_COLOR && process.stderr.isTTY === true,
  tty: process.stdout.isTTY === true,
};

export { UsageError } from '../util/error.js';

/** Reads a spec file; a missing or unreadable file is a diagnostic, not an exception. */
export function readSource(path: string): Source | Diagnostic {
  try {
    const bytes = readFileSync(path);
    if (bytes.includes(0)) return error(Codes.unreadable, `cannot read '${path}': it is not a text file`);
    // A UTF-8 byte-order mark is not part of the spec (and would shift every column on line 1).
    const body = bytes.toString('utf8');
    return { name: path, body: body.charCodeAt(0) === 0xfeff ? body.slice(1) : body };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : String((e as Error).message);
    return error(Codes.unreadable, `cannot read '${path}': ${why}`);
  }
}

export function isDiagnostic(x: unknown): x is Diagnostic {
  return typeof x === 'object' && x !== null && 'code' in x && 'severity' in x;
}

/** Writes a file atomically (see writeFileAtomicSync). */
export const writeFileAtomic = writeFileAtomicSync;

/** Why a write failed, in words, from its errno code (never the bare message repeated). */
export function writeFailure(e: NodeJS.ErrnoException): string {
  if (e.code === 'ENOENT') return 'no such folder';
  return errnoText(e.code) ?? `${e.code ?? 'error'}${e.cause instanceof Error ? ` (${e.cause.message})` : ''}`;
}

export type DiagnosticFormat = 'frame' | 'short' | 'json';

/** Prints diagnostics to stderr (frames, one line each, or a JSON document on stdout). */
export function reportDiagnostics(
  io: CliIO,
  diagnostics: readonly Diagnostic[],
  format: DiagnosticFormat,
  omitted = 0,
): void {
  if (format === 'json') return; // the command includes them in its JSON output
  if (diagnostics.length === 0) return;
  if (format === 'short') {
    io.stderr(
      diagnostics
        .map((d) => `${formatOneLine(d)}${d.suggestion !== undefined ? ` (did you mean '${d.suggestion}'?)` : ''}\n`)
        .join(''),
    );
    return;
  }
  io.stderr(diagnostics.map((d) => `${formatFrame(d, { color: io.color })}\n\n`).join(''));
  if (diagnostics.some((d) => d.severity === 'error')) io.stderr(`${summarize(diagnostics, omitted)}\n`);
}

export function diagnosticsJson(diagnostics: readonly Diagnostic[]): Record<string, unknown>[] {
  return diagnostics.map(toJson);
}
