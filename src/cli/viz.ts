import { checkInputSize, defaultSize } from '../compiler/index.js';
import { isUnetGraph, renderGraphSvg, renderUnetSvg, vizSize } from '../compiler/viz/index.js';
import { parseSize } from './format.js';
import {
  diagnosticsJson,
  reportDiagnostics,
  UsageError,
  writeFileAtomic,
  type CliIO,
  type DiagnosticFormat,
} from './io.js';
import { loadSpec } from './load.js';
import { guardOutputs } from '../runtime/data/index.js';

export interface VizOptions {
  /** The SVG file to write, or '-' for stdout. */
  readonly output?: string;
  /** HxW (or one number): the input size the diagram's shapes are computed at. */
  readonly input?: string;
  /** The layered graph view even for a template network. */
  readonly graph?: boolean;
  readonly format?: DiagnosticFormat;
  /** Replace an existing file that unetc did not write. */
  readonly overwrite?: boolean;
}

/** Help text for after the option list. */
export const VIZ_HELP = `
Template networks are drawn as the classic U (levels, channels, sizes, skips); explicit graphs
(and any spec with --graph) as a layered graph of every op. To get a PNG:
  rsvg-convert unet.svg -o unet.png     (Debian: apt-get install librsvg2-bin; or scripts/viz-png.sh)
`;

/**
 * `unetc viz SPEC -o FILE.svg [--input HxW] [--graph]`: an architecture diagram as SVG. A bad
 * spec or an input size that does not fit gives the diagnostics `check` and `inspect` give
 * (exit 1); the file is written atomically, so a failed run leaves no half-written diagram.
 */
export function runViz(io: CliIO, file: string, options: VizOptions): number {
  const format = options.format ?? 'frame';
  const output = options.output;
  if (output === undefined || output === '')
    throw new UsageError('viz needs an output file: -o FILE.svg (or -o - for standard output)');
  if (/\.(png|jpe?g|pdf|gif|webp)$/i.test(output)) {
    throw new UsageError(
      `viz writes SVG, not '${output.slice(output.lastIndexOf('.') + 1)}': name a .svg file and convert it (rsvg-convert FILE.svg -o FILE.png, or scripts/viz-png.sh)`,
    );
  }
  if (output === '-' && format === 'json')
    throw new UsageError('--json prints a JSON result on standard output: write the SVG to a file (-o FILE.svg)');
  if (options.input !== undefined && !parseSize(options.input) && !parseSize(options.input, 3))
    throw new UsageError(
      `--input takes HxW (e.g. 256x256), DxHxW for a 3D spec (e.g. 32x64x64), or one number, found '${options.input}'`,
    );

  const result = loadSpec(file);
  const g = result.graph;
  const fail = (diagnostics: Parameters<typeof diagnosticsJson>[0]) => {
    reportDiagnostics(io, diagnostics, format, result.omitted);
    if (format === 'json')
      io.stdout(`${JSON.stringify({ file, ok: false, diagnostics: diagnosticsJson(diagnostics) }, null, 2)}\n`);
    return 1;
  };
  if (!g) return fail(result.diagnostics);
  const size = options.input !== undefined ? parseSize(options.input, g.dims) : undefined;
  if (options.input !== undefined && !size)
    throw new UsageError(
      `--input takes ${g.dims === 3 ? 'DxHxW (e.g. 32x64x64) for this 3D spec' : 'HxW (e.g. 256x256)'} or one number, found '${options.input}'`,
    );
  const sizes = size ?? (g.inputSize === 'any' ? defaultSize(g) : [...g.inputSize]);
  const sizeProblems = checkInputSize(g, sizes, undefined, size ? ' (from --input)' : '');
  const diagnostics = [...result.diagnostics, ...sizeProblems];
  if (sizeProblems.length > 0) return fail(diagnostics);
  reportDiagnostics(io, diagnostics, format);

  const at = vizSize(sizes);
  const view = result.spec?.network !== undefined && !options.graph && isUnetGraph(g, at) ? 'unet' : 'graph';
  const svg = view === 'unet' ? renderUnetSvg(g, at) : renderGraphSvg(g, at);
  if (output === '-') {
    io.stdout(svg);
    return 0;
  }
  guardOutputs([output], { overwrite: options.overwrite, what: 'the diagram' });
  writeFileAtomic(output, svg);
  const what = `${view === 'unet' ? 'U-Net diagram' : 'graph diagram'} of ${g.name} at ${sizes.join('x')}`;
  if (format === 'json')
    io.stdout(
      `${JSON.stringify({ file, ok: true, output, view, input: at, bytes: Buffer.byteLength(svg), diagnostics: diagnosticsJson(diagnostics) }, null, 2)}\n`,
    );
  else io.stderr(`wrote ${output}: ${what}\n`);
  return 0;
}
