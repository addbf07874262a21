import { axisName, describeSizes, spatialAxes, validSizes } from '../compiler/index.js';
import { diagnosticsJson, reportDiagnostics, type CliIO, type DiagnosticFormat } from './io.js';
import { loadSpec } from './load.js';

export interface CheckOptions {
  readonly format: DiagnosticFormat;
  readonly quiet: boolean;
}

/** `unetc check SPEC...`: every problem of every file; exit 1 when any file has an error. */
export function runCheck(io: CliIO, files: readonly string[], options: CheckOptions): number {
  let failed = false;
  const json: unknown[] = [];
  for (const file of files) {
    const result = loadSpec(file);
    failed ||= !result.ok;
    reportDiagnostics(io, result.diagnostics, options.format, result.omitted);
    const g = result.graph;
    if (options.format === 'json') {
      json.push({
        file,
        ok: result.ok,
        diagnostics: diagnosticsJson(result.diagnostics),
        ...(g ? { name: g.name, ops: g.ops.length } : {}),
      });
    } else if (g && !options.quiet) {
      const size = g.inputSize === 'any' ? describeAxes(g) : g.inputSize.join('x');
      io.stdout(
        `${file}: ok: ${g.name}, ${g.ops.length} ops, input ${g.inputChannels}ch${g.dims === 3 ? ' 3D' : ''} ${size}, output ${outputText(g)}\n`,
      );
    }
  }
  if (options.format === 'json') io.stdout(`${JSON.stringify(files.length === 1 ? json[0] : json, null, 2)}\n`);
  return failed ? 1 : 0;
}

function describeAxes(g: Parameters<typeof validSizes>[0]): string {
  const sides = spatialAxes(g).map((axis) => describeSizes(validSizes(g, axis)));
  if (sides.every((s) => s === sides[0])) return `of any size (sides: ${sides[0]})`;
  return `of any size (${sides.map((s, axis) => `${axisName(axis, g.dims)}: ${s}`).join('; ')})`;
}

/** "1 class (sigmoid)", "3 classes (softmax)", or a boundary head's "1 class with instance boundaries (...)". */
export function outputText(g: {
  readonly classes: number;
  readonly activation: string;
  readonly instances?: string;
}): string {
  if (g.instances === 'boundary')
    return `1 class with instance boundaries (${g.classes} channels: background, interior, boundary; ${g.activation})`;
  return `${g.classes} class${g.classes === 1 ? '' : 'es'} (${g.activation})`;
}
