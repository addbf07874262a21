/** A spec file's text and the name diagnostics print for it. */
export interface Source {
  readonly name: string;
  readonly body: string;
}

/** A half-open range of character offsets into a source (graphql-js style; line/col are computed when printing). */
export interface Span {
  readonly source: Source;
  readonly start: number;
  readonly end: number;
}

export interface LineCol {
  /** 1-based line. */
  readonly line: number;
  /** 1-based column, in UTF-16 code units. */
  readonly column: number;
}

export function makeSource(name: string, body: string): Source {
  return { name, body };
}

export function span(source: Source, start: number, end: number): Span {
  const s = Math.max(0, Math.min(start, source.body.length));
  const e = Math.max(s, Math.min(end, source.body.length));
  return { source, start: s, end: e };
}

/** The line and column of an offset. */
export function lineCol(source: Source, offset: number): LineCol {
  const body = source.body;
  const limit = Math.max(0, Math.min(offset, body.length));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < limit; i++) {
    if (body.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: limit - lineStart + 1 };
}

/** The text of a 1-based line, without its line break. */
export function lineText(source: Source, line: number): string {
  const lines = source.body.split(/\r?\n/);
  return lines[line - 1] ?? '';
}
