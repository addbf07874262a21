import {
  Codes,
  error,
  hasErrors,
  MAX_DIAGNOSTICS,
  sortDiagnostics,
  type Diagnostic,
  type Result,
  type Source,
} from './diagnostics/index.js';
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

/** The same problem reported twice (same code, place and message) is shown once. */
function dedupe(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.code}|${d.span?.start}|${d.span?.end}|${d.message}`;
    return !seen.has(key) && seen.add(key) !== undefined;
  });
}

/** The training patch must be a size the network accepts. */
function checkPatch(doc: SpecDocument, spec: SpecValue, graph: Graph): Diagnostic[] {
  const patch = spec.train?.patch as readonly number[] | undefined;
  if (!patch || patch.length !== graph.dims) return [];
  return checkInputSize(graph, patch, valueSpan(doc, '/train/patch'), ' (train.patch)');
}

/** Parses a spec in either front end. */
export function parseSpec(
  source: Source,
  format: SpecFormat | undefined = formatOf(source.name),
): Result<SpecDocument> {
  if (format === 'yaml') return parseYaml(source);
  if (format === 'dsl') return parseDsl(source);
  return {
    value: undefined,
    diagnostics: [
      error(Codes.unknownFileType, `cannot tell the spec format of '${source.name}': use a .yaml, .yml or .unet file`),
    ],
  };
}

/** Everything the front half of the compiler knows about a spec. */
export interface Compiled {
  readonly document: SpecDocument | undefined;
  /** The schema-valid value (also set when later stages failed). */
  readonly spec: SpecValue | undefined;
  /** The checked IR, when there are no errors. */
  readonly graph: Graph | undefined;
  readonly diagnostics: readonly Diagnostic[];
  /** How many diagnostics past MAX_DIAGNOSTICS were left out. */
  readonly omitted: number;
}

/**
 * Parse, validate, check and lower a spec. Never throws on bad input; each stage runs only
 * when the one before it had no errors, so every reported error is a real one.
 */
export function compileSpec(source: Source, format?: SpecFormat): Compiled {
  let diagnostics: Diagnostic[] = [];
  const done = (document?: SpecDocument, spec?: SpecValue, graph?: Graph): Compiled => {
    const unique = dedupe(sortDiagnostics(diagnostics));
    return {
      document,
      spec,
      graph: hasErrors(unique) ? undefined : graph,
      diagnostics: unique.slice(0, MAX_DIAGNOSTICS),
      omitted: Math.max(0, unique.length - MAX_DIAGNOSTICS),
    };
  };
  const parsed = parseSpec(source, format);
  diagnostics = diagnostics.concat(parsed.diagnostics);
  const doc = parsed.value;
  if (!doc || hasErrors(diagnostics)) return done(doc);

  diagnostics = diagnostics.concat(validateSchema(doc));
  if (hasErrors(diagnostics)) return done(doc);
  const spec = doc.value as unknown as SpecValue;

  diagnostics = diagnostics.concat(checkSemantics(doc, spec));
  if (hasErrors(diagnostics)) return done(doc, spec);

  const lowered = lower(doc, spec);
  diagnostics = diagnostics.concat(lowered.diagnostics);
  const graph = lowered.value;
  if (!graph || hasErrors(diagnostics)) return done(doc, spec);

  const size = graph.inputSize;
  if (size === 'any')
    diagnostics = diagnostics.concat(checkSomeSizeFits(graph, valueSpan(doc, '/network'), spec.network !== undefined));
  else diagnostics = diagnostics.concat(checkInputSize(graph, size, valueSpan(doc, '/input/size'), ''));
  diagnostics = diagnostics.concat(checkPatch(doc, spec, graph));
  return done(doc, spec, graph);
}
