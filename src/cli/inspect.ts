import {
  analyze,
  axisName,
  factorText,
  inferenceGraph,
  checkInputSize,
  defaultSize,
  describeSizes,
  formatSize,
  inferShapes,
  opAttributes,
  shapeSizes,
  spatialAxes,
  splitText,
  validSizes,
  type Cost,
  type Graph,
  type Op,
  type Shape,
} from '../compiler/index.js';
import { bytes, parseSize, si, table, thousands } from './format.js';
import { diagnosticsJson, reportDiagnostics, UsageError, type CliIO, type DiagnosticFormat } from './io.js';
import { loadSpec } from './load.js';

export interface InspectOptions {
  readonly input?: string;
  readonly batch?: string;
  readonly format: DiagnosticFormat;
  readonly summary: boolean;
}

/** `unetc inspect SPEC`: every layer's shape, parameters and MACs; totals and a training-memory estimate. */
export function runInspect(io: CliIO, file: string, options: InspectOptions): number {
  if (options.input !== undefined && !parseSize(options.input) && !parseSize(options.input, 3))
    throw new UsageError(
      `--input takes HxW (e.g. 256x256), DxHxW for a 3D spec (e.g. 32x64x64), or one number, found '${options.input}'`,
    );
  if (options.batch !== undefined && !/^\d+$/.test(options.batch.trim()))
    throw new UsageError(`--batch takes a whole number of at least 1, found '${options.batch}'`);
  if (options.batch !== undefined && Number(options.batch) < 1)
    throw new UsageError(`--batch takes a whole number of at least 1, found '${options.batch}'`);

  const result = loadSpec(file);
  const g = result.graph;
  if (!g) {
    reportDiagnostics(io, result.diagnostics, options.format);
    if (options.format === 'json')
      io.stdout(`${JSON.stringify({ file, ok: false, diagnostics: diagnosticsJson(result.diagnostics) }, null, 2)}\n`);
    return 1;
  }
  const size = options.input !== undefined ? parseSize(options.input, g.dims) : undefined;
  if (options.input !== undefined && !size)
    throw new UsageError(
      `--input takes ${g.dims === 3 ? 'DxHxW (e.g. 32x64x64) for this 3D spec' : 'HxW (e.g. 256x256)'} or one number, found '${options.input}'`,
    );
  const dims = size ?? (g.inputSize === 'any' ? defaultSize(g) : [...g.inputSize]);
  const sizeProblems = checkInputSize(g, dims, undefined, size ? ' (from --input)' : '');
  const diagnostics = [...result.diagnostics, ...sizeProblems];
  reportDiagnostics(io, diagnostics, options.format);
  if (sizeProblems.length > 0) {
    if (options.format === 'json')
      io.stdout(`${JSON.stringify({ file, ok: false, diagnostics: diagnosticsJson(diagnostics) }, null, 2)}\n`);
    return 1;
  }
  const { shapes } = inferShapes(g, ...dims);
  const train = result.spec?.train;
  const batch = options.batch !== undefined ? Number(options.batch) : ((train?.batch as number | undefined) ?? 1);
  const cost = analyze(g, shapes, batch, { name: train?.optimizer, momentum: train?.momentum });
  if (options.format === 'json')
    io.stdout(`${JSON.stringify(inspectJson(file, g, cost, dims, diagnostics), null, 2)}\n`);
  else io.stdout(inspectText(file, g, cost, dims, options.summary));
  return 0;
}

function opLabel(op: Op): string {
  switch (op.kind) {
    case 'Conv':
    case 'ConvTranspose':
      return `${op.kind} ${formatSize(op.kernel)}${op.stride.some((s) => s > 1) ? `/${factorText(op.stride)}` : ''}${op.padding === 'valid' ? ' valid' : ''}`;
    case 'Activation':
      return op.fn;
    case 'Pool':
      return `${op.mode === 'max' ? 'MaxPool' : 'AvgPool'} ${formatSize(op.size)}`;
    case 'Upsample':
      return `Upsample x${op.scale[0]} ${op.mode}`;
    case 'Dropout':
      return `Dropout ${op.rate}`;
    default:
      return op.kind;
  }
}

const shapeText = (s: Shape) => formatSize([...shapeSizes(s), s.c]);

function inspectText(file: string, g: Graph, cost: Cost, size: readonly number[], summary: boolean): string {
  const out: string[] = [];
  const out0 = cost.layers[cost.layers.length - 1]?.shape;
  out.push(
    `${g.name} (${file}): input ${formatSize([...size, g.inputChannels])}${g.normalize ? ` (${g.normalize}-normalized)` : ''} -> output ${out0 ? shapeText(out0) : '?'}, ${g.activation}${g.instances ? `; instances: ${g.instances} (background, interior, boundary; touching objects are split: ${splitText(g.split)})` : ''}\n\n`,
  );
  if (!summary) {
    const rows = cost.layers.map((l) => [
      l.op.name,
      opLabel(l.op),
      shapeText(l.shape),
      l.params.trainable + l.params.nonTrainable > 0 ? thousands(l.params.trainable + l.params.nonTrainable) : '-',
      l.macs > 0 ? si(l.macs) : '-',
    ]);
    out.push(
      table(['layer', 'op', g.dims === 3 ? 'output (DxHxWxC)' : 'output (HxWxC)', 'params', 'MACs'], rows, [
        false,
        false,
        false,
        true,
        true,
      ]),
      '\n',
    );
  }
  const m = cost.memory;
  const ds = g.deepSupervision;
  const auxParams = ds
    ? cost.layers
        .filter((l) => !inferenceGraph(g).ops.includes(l.op))
        .reduce((a, l) => a + l.params.trainable + l.params.nonTrainable, 0)
    : 0;
  const dsText = ds
    ? `deep supervision: ${ds.heads.length} head${ds.heads.length === 1 ? '' : 's'} (${ds.heads.map((h) => `${h.op} at 1/${factorText(h.factor)}, weight ${h.weight.toFixed(3)}`).join('; ')}; main head weight ${ds.mainWeight.toFixed(3)}); ${thousands(auxParams)} of the parameters are in them, for training only: the exported model has ${thousands(cost.params.total - auxParams)}\n`
    : '';
  const sides = spatialAxes(g).map((axis) => describeSizes(validSizes(g, axis)));
  const sidesText = sides.every((s) => s === sides[0])
    ? `${g.dims === 3 ? 'depth, height and width' : 'height and width'}: ${sides[0]}`
    : sides.map((s, axis) => `${axisName(axis, g.dims)}: ${s}`).join('; ');
  out.push(
    `params:      ${thousands(cost.params.total)} total, ${thousands(cost.params.trainable)} trainable, ${thousands(cost.params.nonTrainable)} non-trainable${cost.params.nonTrainable > 0 ? ' (BatchNorm moving statistics)' : ''}\n`,
    `MACs:        ${si(cost.macs)} per ${g.dims === 3 ? 'volume' : 'image'} at ${formatSize(size)} (${thousands(cost.macs)}; multiply-adds of convs and transposed convs, elementwise ops not counted)\n`,
    `memory:      training at batch ${m.batch}, float32, estimated: ${bytes(m.total)} = activations ${bytes(m.activations)} + parameters ${bytes(m.parameters)} + gradients ${bytes(m.gradients)} + ${m.optimizerName} state ${bytes(m.optimizer)}\n`,
    `             (every op output kept for the backward pass; engine workspace comes on top)\n`,
    ...(dsText ? [dsText] : []),
    `input sizes: ${sidesText}${g.inputSize === 'any' ? '' : ` (this spec fixes ${formatSize(g.inputSize)})`}\n`,
  );
  return out.join('');
}

function inspectJson(
  file: string,
  g: Graph,
  cost: Cost,
  size: readonly number[],
  diagnostics: Parameters<typeof diagnosticsJson>[0],
): Record<string, unknown> {
  return {
    file,
    ok: true,
    name: g.name,
    input:
      g.dims === 3
        ? {
            depth: size[0],
            height: size[1],
            width: size[2],
            channels: g.inputChannels,
            normalize: g.normalize ?? 'zscore',
          }
        : { height: size[0], width: size[1], channels: g.inputChannels, normalize: g.normalize ?? 'zscore' },
    layers: cost.layers.map((l) => ({
      name: l.op.name,
      op: l.op.kind,
      attributes: opAttributes(l.op),
      inputs: l.op.inputs,
      shape: [...shapeSizes(l.shape), l.shape.c],
      params: l.params.trainable + l.params.nonTrainable,
      macs: l.macs,
    })),
    params: cost.params,
    macs: cost.macs,
    memory: cost.memory,
    diagnostics: diagnosticsJson(diagnostics),
  };
}
