import { compileSpec, hasErrors, type Compiled, type Diagnostic } from '../compiler/index.js';
import { isDiagnostic, readSource } from './io.js';

/** Reads and compiles a spec file; a file that cannot be read gives one diagnostic. */
export function loadSpec(path: string): Compiled & { readonly ok: boolean } {
  const source = readSource(path);
  if (isDiagnostic(source))
    return {
      document: undefined,
      spec: undefined,
      graph: undefined,
      diagnostics: [source as Diagnostic],
      omitted: 0,
      ok: false,
    };
  const compiled = compileSpec(source);
  return { ...compiled, ok: !hasErrors(compiled.diagnostics) && compiled.graph !== undefined };
}
