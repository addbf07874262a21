import { Codes, error, hasErrors, MAX_DIAGNOSTICS, sortDiagnostics, type Diagnostic, type Result, type Source } from './diagnostics/index.js';
import type { Graph } from './ir/index.js';
import { lower } from './lower/index.js';
import { checkInputSize, checkSomeSizeFits } from './shape/index.js';
import { checkSemantics, validateSchema, valueSpan, type SpecDocument, type SpecValue } from './spec/index.js';
import { parseDsl } from './syntax/index.js';
import { parseYaml } from './yaml/parse.js';

export type SpecFormat = 'yaml' | 'dsl';

/** The format a file name implies: .yaml/.yml or .unet; undefined for anything else. */
export function formatOf(fileName: string): SpecFormat | undefined {
  if (/\.ya?ml$/i.test(fileName)) return 'yaml';
  if (/\.unet$/i.test(fileName)) return 'dsl';
  return undefined;
}

/** Parses a spec in either front end. */
export function parseSpec(source: Source, format: SpecFormat | undefined = formatOf(source.name)): Result<SpecDocument> {
  if (format === 'yaml') return parseYaml(source);
  if (format === 'dsl') return parseDsl(source);
  return { value: undefined, diagnostics: [error(Codes.unknownFileType, `cannot tell the spec format of '${source.name}': use a .yaml, .yml or .unet file`)] };
}

/** Everything the front half of the compiler knows about a spec. */
export interface Compiled {
  readonly document: SpecDocument | undefined;
  /** The schema-valid value (also set when later stages failed). */
  readonly spec: SpecValue | undefined;
  /** The checked IR, when there are no errors. */
  readonly graph: Graph | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Parse, validate, check and lower a spec. Never throws on bad input; each stage runs only
 * when the one before it had no errors, so every reported error is a real one.
 */
export function compileSpec(source: Source, format?: SpecFormat): Compiled {
  const diagnostics: Diagnostic[] = [];
  const done = (document?: SpecDocument, spec?: SpecValue, graph?: Graph): Compiled => ({
    document,
    spec,
    graph: hasErrors(diagnostics) ? undefined : graph,
    diagnostics: sortDiagnostics(diagnostics).slice(0, MAX_DIAGNOSTICS),
  });
  const parsed = parseSpec(source, format);
  diagnostics.push(...parsed.diagnostics);
  const doc = parsed.value;
  if (!doc || hasErrors(diagnostics)) return done(doc);

  diagnostics.push(...validateSchema(doc));
  if (hasErrors(diagnostics)) return done(doc);
  const spec = doc.value as unknown as SpecValue;

  diagnostics.push(...checkSemantics(doc, spec));
  if (hasErrors(diagnostics)) return done(doc, spec);

  const lowered = lower(doc, spec);
  diagnostics.push(...lowered.diagnostics);
  const graph = lowered.value;
  if (!graph || hasErrors(diagnostics)) return done(doc, spec);

  const size = graph.inputSize;
  if (size === 'any') diagnostics.push(...checkSomeSizeFits(graph, valueSpan(doc, '/network')));
  else diagnostics.push(...checkInputSize(graph, size[0], size[1], valueSpan(doc, '/input/size'), ''));
  return done(doc, spec, graph);
}
