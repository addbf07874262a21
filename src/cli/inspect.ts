import { analyze, checkInputSize, defaultSize, describeSizes, inferShapes, opAttributes, validSizes, type Cost, type Graph, type Op } from '../compiler/index.js';
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
  const size = options.input !== undefined ? parseSize(options.input) : undefined;
  if (options.input !== undefined && !size) throw new UsageError(`--input takes HxW (e.g. 256x256) or one number, found '${options.input}'`);
  if (options.batch !== undefined && !/^\d+$/.test(options.batch.trim())) throw new UsageError(`--batch takes a whole number of at least 1, found '${options.batch}'`);
  if (options.batch !== undefined && Number(options.batch) < 1) throw new UsageError(`--batch takes a whole number of at least 1, found '${options.batch}'`);

  const result = loadSpec(file);
  const g = result.graph;
  if (!g) {
    reportDiagnostics(io, result.diagnostics, options.format);
    if (options.format === 'json') io.stdout(`${JSON.stringify({ file, ok: false, diagnostics: diagnosticsJson(result.diagnostics) }, null, 2)}\n`);
    return 1;
  }
  const [h, w] = size ?? (g.inputSize === 'any' ? defaultSize(g) : g.inputSize);
  const sizeProblems = checkInputSize(g, h, w, undefined, size ? ' (from --input)' : '');
  const diagnostics = [...result.diagnostics, ...sizeProblems];
  reportDiagnostics(io, diagnostics, options.format);
  if (sizeProblems.length > 0) {
    if (options.format === 'json') io.stdout(`${JSON.stringify({ file, ok: false, diagnostics: diagnosticsJson(diagnostics) }, null, 2)}\n`);
    return 1;
  }
  const { shapes } = inferShapes(g, h, w);
  const train = result.spec?.train;
  const batch = options.batch !== undefined ? Number(options.batch) : ((train?.batch as number | undefined) ?? 1);
  const cost = analyze(g, shapes, batch, { name: train?.optimizer, momentum: train?.momentum });
  if (options.format === 'json') io.stdout(`${JSON.stringify(inspectJson(file, g, cost, h, w, diagnostics), null, 2)}\n`);
  else io.stdout(inspectText(file, g, cost, h, w, options.summary));
  return 0;
}

function opLabel(op: Op): string {
  switch (op.kind) {
    case 'Conv':
    case 'ConvTranspose':
      return `${op.kind} ${op.kernel[0]}x${op.kernel[1]}${op.stride[0] > 1 || op.stride[1] > 1 ? `/${op.stride[0]}` : ''}${op.padding === 'valid' ? ' valid' : ''}`;
    case 'Activation':
      return op.fn;
    case 'Pool':
      return `${op.mode === 'max' ? 'MaxPool' : 'AvgPool'} ${op.size[0]}x${op.size[1]}`;
    case 'Upsample':
      return `Upsample x${op.scale[0]} ${op.mode}`;
    case 'Dropout':
      return `Dropout ${op.rate}`;
    default:
      return op.kind;
  }
}

function inspectText(file: string, g: Graph, cost: Cost, h: number, w: number, summary: boolean): string {
  const out: string[] = [];
  const out0 = cost.layers[cost.layers.length - 1]?.shape;
  out.push(`${g.name} (${file}): input ${h}x${w}x${g.inputChannels} -> output ${out0 ? `${out0.h}x${out0.w}x${out0.c}` : '?'}, ${g.activation}\n\n`);
  if (!summary) {
    const rows = cost.layers.map((l) => [
      l.op.name,
      opLabel(l.op),
      `${l.shape.h}x${l.shape.w}x${l.shape.c}`,
      l.params.trainable + l.params.nonTrainable > 0 ? thousands(l.params.trainable + l.params.nonTrainable) : '-',
      l.macs > 0 ? si(l.macs) : '-',
    ]);
    out.push(table(['layer', 'op', 'output (HxWxC)', 'params', 'MACs'], rows, [false, false, false, true, true]), '\n');
  }
  const m = cost.memory;
  const sides = [describeSizes(validSizes(g, 0)), describeSizes(validSizes(g, 1))];
  out.push(
    `params:      ${thousands(cost.params.total)} total, ${thousands(cost.params.trainable)} trainable, ${thousands(cost.params.nonTrainable)} non-trainable${cost.params.nonTrainable > 0 ? ' (BatchNorm moving statistics)' : ''}\n`,
    `MACs:        ${si(cost.macs)} per image at ${h}x${w} (${thousands(cost.macs)}; multiply-adds of convs and transposed convs, elementwise ops not counted)\n`,
    `memory:      training at batch ${m.batch}, float32, estimated: ${bytes(m.total)} = activations ${bytes(m.activations)} + parameters ${bytes(m.parameters)} + gradients ${bytes(m.gradients)} + ${m.optimizerName} state ${bytes(m.optimizer)}\n`,
    `             (every op output kept for the backward pass; engine workspace comes on top)\n`,
    `input sizes: ${sides[0] === sides[1] ? `height and width: ${sides[0]}` : `height: ${sides[0]}; width: ${sides[1]}`}${g.inputSize === 'any' ? '' : ` (this spec fixes ${g.inputSize[0]}x${g.inputSize[1]})`}\n`,
  );
  return out.join('');
}

function inspectJson(file: string, g: Graph, cost: Cost, h: number, w: number, diagnostics: Parameters<typeof diagnosticsJson>[0]): Record<string, unknown> {
  return {
    file,
    ok: true,
    name: g.name,
    input: { height: h, width: w, channels: g.inputChannels },
    layers: cost.layers.map((l) => ({
      name: l.op.name,
      op: l.op.kind,
      attributes: opAttributes(l.op),
      inputs: l.op.inputs,
      shape: [l.shape.h, l.shape.w, l.shape.c],
      params: l.params.trainable + l.params.nonTrainable,
      macs: l.macs,
    })),
    params: cost.params,
    macs: cost.macs,
    memory: cost.memory,
    diagnostics: diagnosticsJson(diagnostics),
  };
}
