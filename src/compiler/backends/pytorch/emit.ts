/**
 * The checked IR as a PyTorch module: Python source that reads like a hand-written network (one
 * `nn.Module` per spec, a layer attribute per conv, transposed conv, BatchNorm and dropout, a
 * straight-line `forward` in the IR's order), plus the loader and writer of unetc's pickle-free
 * weights (weights.bin: float32 in tfjs layout, weightSpecs order; weights.json: names, shapes,
 * sha256). Deterministic: the same graph and options give the same bytes.
 *
 * TensorFlow's conventions, kept where PyTorch's differ: 'same' padding with a stride pads by
 * the input's size (the odd pixel at the end, `_pad_same`); a 'same' transposed conv crops
 * floor/ceil (`_trim_end` takes the odd pixel), linear upsampling uses source = target / scale
 * (`_resize_linear`; F.interpolate has no such mode); BatchNorm momentum is 1 - Keras' momentum.
 */
import { assertNever, type Graph, type Op } from '../../ir/index.js';
import { weightSpecs } from '../weights.js';
import { pythonNames } from './names.js';

export interface PytorchSourceOptions {
  /** sha256 of the spec's source text, recorded in the module. */
  readonly specSha256: string;
  /** The unetc version, named in the header. */
  readonly producerVersion: string;
}

/** The file name of the generated module in an export folder. */
export const MODULE_FILE = 'model.py';
/** The weights and their manifest beside it. */
export const WEIGHTS_FILE = 'weights.bin';
export const MANIFEST_FILE = 'weights.json';
/** weights.json's `format` and `version`. */
export const WEIGHTS_FORMAT = 'unetc-torch-weights';
export const WEIGHTS_VERSION = 1;

/** A Python literal for a JSON value (strings, numbers, booleans, null, arrays). */
function py(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return pyNumber(value);
  if (Array.isArray(value)) return `[${value.map(py).join(', ')}]`;
  const text = String(value);
  return /^[ -~]*$/.test(text) && !/['\\]/.test(text) ? `'${text}'` : JSON.stringify(text);
}

/** A number as Python reads it back exactly: `3`, `0.001`, `1e-05`. */
function pyNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return String(n).replace(/e([+-])(\d)$/, 'e$10$2');
}

/** One value when every axis agrees (`3`), else a tuple (`(3, 5)`). */
function axes(values: readonly number[]): string {
  return values.every((v) => v === values[0]) ? pyNumber(values[0]!) : `(${values.map(pyNumber).join(', ')})`;
}

/** A tuple, always (`(2, 3)`, `(0,)`). */
function tuple(values: readonly number[]): string {
  return values.length === 1 ? `(${values[0]},)` : `(${values.join(', ')})`;
}

/** 1 - m without float noise (Keras' 0.99 is PyTorch's 0.01, not 0.010000000000000009). */
const torchMomentum = (m: number) => Number((1 - m).toPrecision(12));

/** Names the module defines or imports at its top level: a class of the same name would shadow them. */
const MODULE_NAMES = new Set(
  (
    'F nn np torch os json hashlib None True False SPEC_NAME SPEC_SHA256 DIMS INPUT_CHANNELS CLASSES ' +
    'OUTPUT_ACTIVATION CLASS_NAMES THRESHOLD INSTANCES WEIGHTS_FORMAT WEIGHTS_VERSION WEIGHTS'
  ).split(' '),
);

/** `Nuclei`, `Unet3dAniso`: a class name from the spec's name (`FNet` where `F` would shadow a module name). */
export function className(name: string): string {
  const words = name.split(/[^A-Za-z0-9]+/).filter((w) => w !== '');
  const joined = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  if (!/^[A-Za-z]/.test(joined)) return `Net${joined}`;
  return MODULE_NAMES.has(joined) ? `${joined}Net` : joined;
}

/** Per axis, what a transposed conv crops from its start and end, and adds at its end (see the header). */
function transposeGeometry(op: Extract<Op, { kind: 'ConvTranspose' }>) {
  return op.kernel.map((k, axis) => {
    const s = op.stride[axis]!;
    const total = op.padding === 'same' ? Math.max(k - s, 0) : 0;
    return { padding: Math.floor(total / 2), trim: total % 2, outputPadding: Math.max(s - k, 0) };
  });
}

const needsPadSame = (op: Op) => op.kind === 'Conv' && op.padding === 'same' && op.stride.some((s) => s !== 1);

/** The layer an op owns (an `nn` constructor call), or undefined for ops computed in forward. */
function layer(op: Op, inChannels: number, d: number): string | undefined {
  switch (op.kind) {
    case 'Conv': {
      const args = [String(inChannels), String(op.channels), axes(op.kernel)];
      if (op.stride.some((s) => s !== 1)) args.push(`stride=${axes(op.stride)}`);
      if (op.padding === 'same' && !needsPadSame(op) && op.kernel.some((k) => k !== 1))
        args.push(
          op.kernel.every((k) => k % 2 === 1) ? `padding=${axes(op.kernel.map((k) => (k - 1) / 2))}` : `padding='same'`,
        );
      if (!op.bias) args.push('bias=False');
      return `nn.Conv${d}d(${args.join(', ')})`;
    }
    case 'ConvTranspose': {
      const g = transposeGeometry(op);
      const args = [String(inChannels), String(op.channels), axes(op.kernel), `stride=${axes(op.stride)}`];
      if (g.some((a) => a.padding !== 0)) args.push(`padding=${axes(g.map((a) => a.padding))}`);
      if (g.some((a) => a.outputPadding !== 0)) args.push(`output_padding=${axes(g.map((a) => a.outputPadding))}`);
      if (!op.bias) args.push('bias=False');
      return `nn.ConvTranspose${d}d(${args.join(', ')})`;
    }
    case 'BatchNorm':
      return `nn.BatchNorm${d}d(${op.channels}, eps=${pyNumber(op.epsilon)}, momentum=${pyNumber(torchMomentum(op.momentum))})`;
    case 'Dropout':
      return `nn.Dropout(${pyNumber(op.rate)})`;
    default:
      return undefined;
  }
}

/**
 * The expression of an op's output in forward, given its inputs' variables. `inPlace`: the op's
 * input is read by nothing else and its backward does not need it (a conv's, a BatchNorm's or a
 * sum's output), so a ReLU may overwrite it, as hand-written PyTorch does (less memory).
 */
function expression(op: Op, self: string, ins: readonly string[], d: number, inPlace = false): string {
  const [a = '', b = ''] = ins;
  const spatial = d === 3 ? '(2, 3, 4)' : '(2, 3)';
  switch (op.kind) {
    case 'Input':
    case 'Output':
      return a;
    case 'Conv':
      return needsPadSame(op) ? `${self}(_pad_same(${a}, ${tuple(op.kernel)}, ${tuple(op.stride)}))` : `${self}(${a})`;
    case 'ConvTranspose': {
      const trim = transposeGeometry(op).map((g) => g.trim);
      return trim.some((t) => t !== 0) ? `_trim_end(${self}(${a}), ${tuple(trim)})` : `${self}(${a})`;
    }
    case 'BatchNorm':
    case 'Dropout':
      return `${self}(${a})`;
    case 'Activation':
      switch (op.fn) {
        case 'relu':
          return inPlace ? `F.relu(${a}, inplace=True)` : `F.relu(${a})`;
        case 'leaky-relu':
          return `F.leaky_relu(${a}, ${pyNumber(op.alpha)})`;
        case 'elu':
          return `F.elu(${a}, ${pyNumber(op.alpha)})`;
        case 'sigmoid':
          return `torch.sigmoid(${a})`;
        case 'softmax':
          return `torch.softmax(${a}, 1)`;
        default:
          return assertNever(op.fn);
      }
    case 'Pool':
      return `F.${op.mode}_pool${d}d(${a}, ${axes(op.size)}, ${axes(op.stride)})`;
    case 'Upsample':
      return op.mode === 'nearest'
        ? `F.interpolate(${a}, scale_factor=${axes(op.scale)}, mode='nearest')`
        : `_resize_linear(${a}, ${tuple(op.scale)})`;
    case 'Concat':
      return `torch.cat([${ins.join(', ')}], 1)`;
    case 'Add':
      return ins.join(' + ');
    case 'Crop':
      return `_center_crop(${a}, ${b})`;
    case 'GlobalAvgPool':
      return `${a}.mean(${spatial}, keepdim=True)`;
    case 'Multiply':
      return `${a} * ${b}`;
    default:
      return assertNever(op);
  }
}

/** The block an op belongs to (`enc1` of `enc1.conv1`), for comments; undefined for flat names. */
const blockOf = (name: string) => (name.includes('.') ? name.slice(0, name.indexOf('.')) : undefined);

/** The Python module for `graph` (see the file comment). */
export function emitPytorchSource(graph: Graph, options: PytorchSourceOptions): string {
  const d = graph.dims;
  const names = pythonNames(graph);
  const cls = className(graph.name);
  const ops = graph.ops;
  const channels = new Map(ops.map((op) => [op.name, op.channels]));
  const byName = new Map(ops.map((op) => [op.name, op]));
  const consumers = new Map<string, Set<string>>(ops.map((op) => [op.name, new Set<string>()]));
  for (const op of ops) for (const i of op.inputs) consumers.get(i)?.add(op.name);
  const heads = graph.deepSupervision?.heads ?? [];
  // A value read only by the next op lives in `x`; every other value (skips, heads) has a name.
  const variable = new Map<string, string>();
  ops.forEach((op, i) => {
    const c = consumers.get(op.name)!;
    const chained = c.size === 1 && ops[i + 1] !== undefined && c.has(ops[i + 1]!.name);
    variable.set(op.name, chained ? 'x' : names.get(op.name)!);
  });

  const init: string[] = [];
  const forward: string[] = [];
  let block: string | undefined;
  for (const op of ops) {
    const self = `self.${names.get(op.name)}`;
    const made = layer(op, channels.get(op.inputs[0] ?? '') ?? 0, d);
    const b = blockOf(op.name);
    if (made !== undefined && b !== block && b !== undefined) init.push(`        # ${b}`);
    if (made !== undefined) {
      block = b;
      init.push(`        ${self} = ${made}`);
    }
    if (op.kind === 'Output') continue;
    const target = variable.get(op.name)!;
    const source = byName.get(op.inputs[0] ?? '');
    const inPlace =
      source !== undefined &&
      variable.get(source.name) === 'x' &&
      ['Conv', 'ConvTranspose', 'BatchNorm', 'Add'].includes(source.kind);
    const ins = op.inputs.map((i) => variable.get(i)!);
    const value = op.kind === 'Input' ? 'x' : expression(op, self, ins, d, inPlace);
    if (target !== value) forward.push(`        ${target} = ${value}`);
  }
  const output = ops.find((op) => op.kind === 'Output');
  const result = variable.get(output?.inputs[0] ?? '') ?? 'x';
  if (heads.length > 0) {
    const aux = heads.map((h) => variable.get(h.op)!);
    forward.push('        if self.training:');
    forward.push(`            return ${result}, [${aux.join(', ')}]`);
  }
  forward.push(`        return ${result}`);

  const used = (fn: string) => forward.some((line) => line.includes(`${fn}(`));
  const helpers = HELPERS.filter((h) => used(h.name)).map((h) => h.source);
  const entries = weightSpecs(graph).map((w) => {
    const slash = w.name.lastIndexOf('/');
    const op = w.name.slice(0, slash);
    const param = PARAMETERS[w.name.slice(slash + 1)]!;
    const rank = w.shape.length;
    const order = rank > 1 ? [rank - 1, rank - 2, ...Array.from({ length: rank - 2 }, (_, i) => i)] : [0];
    return `    (${py(w.name)}, ${py(`${names.get(op)}.${param}`)}, ${tuple(order)}),`;
  });
  const layout = d === 3 ? '[N, C, D, H, W]' : '[N, C, H, W]';
  const outputText =
    graph.activation === 'softmax'
      ? 'probabilities (softmax over channels)'
      : graph.activation === 'sigmoid'
        ? 'probabilities (sigmoid)'
        : 'logits (no activation)';
  const about = (graph.description ?? graph.name).replace(/\\/g, '\\\\').replace(/"""/g, '\\"\\"\\"');
  const lines = [
    `# Generated by unetc ${options.producerVersion} from spec '${graph.name}' (sha256 ${options.specSha256}).`,
    '# Regenerate rather than edit: unetc compile SPEC --target pytorch -o DIR [--weights RUN]',
    `"""${about}`,
    '',
    `The network of unetc spec '${graph.name}' as a PyTorch module. Input: float32 ${layout} with`,
    `C = ${graph.inputChannels}, normalized as weights.json's input_normalization says. Output: ${layout} with`,
    `C = ${graph.classes}, ${outputText}.${heads.length > 0 ? ' In training mode also the deep-supervision\nheads, coarsest last: (output, [heads]).' : ''}`,
    '',
    'load() builds it with the weights beside this file (in eval mode); write_weights() saves them back',
    'in the same pickle-free format, bit for bit.',
    '"""',
    'import hashlib',
    'import json',
    'import os',
    '',
    'import numpy as np',
    'import torch',
    'import torch.nn.functional as F',
    'from torch import nn',
    '',
    `SPEC_NAME = ${py(graph.name)}`,
    `SPEC_SHA256 = ${py(options.specSha256)}`,
    `DIMS = ${d}`,
    `INPUT_CHANNELS = ${graph.inputChannels}`,
    `CLASSES = ${graph.classes}`,
    `OUTPUT_ACTIVATION = ${py(graph.activation)}`,
    `CLASS_NAMES = ${py(graph.classNames ?? null)}`,
    `THRESHOLD = ${pyNumber(graph.threshold)}`,
    `INSTANCES = ${py(graph.instances ?? null)}`,
    `WEIGHTS_FORMAT = ${py(WEIGHTS_FORMAT)}`,
    `WEIGHTS_VERSION = ${WEIGHTS_VERSION}`,
    '',
    '',
    `class ${cls}(nn.Module):`,
    `    """unetc spec '${graph.name}'${graph.inputSize === 'any' ? '' : `, input size ${graph.inputSize.join('x')}`}."""`,
    '',
    '    def __init__(self):',
    '        super().__init__()',
    ...(init.length > 0 ? init : ['        pass']),
    '',
    '    def forward(self, x):',
    ...forward,
    '',
    '',
    '# Each weight: its unetc (tfjs) name, its state_dict() key, and the axes that take its tfjs layout',
    "# (conv kernels [k..., in, out], transposed [k..., out, in]) to PyTorch's ([out, in, k...]).",
    'WEIGHTS = (',
    ...entries,
    ')',
    '',
    '',
    LOADER.replace(/\{CLASS\}/g, cls),
    ...helpers.map((h) => `\n\n${h}`),
  ];
  return `${lines.join('\n').trimEnd()}\n`;
}

/** tfjs weight suffix -> the PyTorch parameter or buffer. */
const PARAMETERS: Readonly<Record<string, string>> = {
  kernel: 'weight',
  bias: 'bias',
  gamma: 'weight',
  beta: 'bias',
  moving_mean: 'running_mean',
  moving_variance: 'running_var',
};

const LOADER = `
def load(folder=None, device='cpu'):
    """The network with the weights in \`folder\` (this file's folder by default), in eval mode."""
    folder = folder or os.path.dirname(os.path.abspath(__file__))
    model = {CLASS}()
    missing, unexpected = model.load_state_dict(read_weights(folder), strict=False)
    missing = [k for k in missing if not k.endswith('num_batches_tracked')]
    if missing or unexpected:
        raise ValueError(f'weights do not fit {CLASS}: missing {missing}, unexpected {unexpected}')
    # How its inputs must be scaled: write_weights keeps it.
    with open(os.path.join(folder, 'weights.json'), encoding='utf-8') as f:
        model.input_normalization = json.load(f).get('input_normalization', 'none')
    return model.to(device).eval()


def read_weights(folder):
    """folder/weights.bin as a state dict, checked against folder/weights.json (sha256, names)."""
    manifest_path = os.path.join(folder, 'weights.json')
    with open(manifest_path, encoding='utf-8') as f:
        manifest = json.load(f)
    if manifest.get('format') != WEIGHTS_FORMAT or manifest.get('version') != WEIGHTS_VERSION:
        raise ValueError(f'{manifest_path}: not a unetc weights manifest ({WEIGHTS_FORMAT} {WEIGHTS_VERSION})')
    entries = manifest.get('weights', [])
    if [e.get('name') for e in entries] != [w[0] for w in WEIGHTS]:
        raise ValueError(f'{manifest_path}: its weights are not those of spec {SPEC_NAME!r}')
    path = os.path.join(folder, 'weights.bin')
    with open(path, 'rb') as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != manifest.get('sha256'):
        raise ValueError(f'{path}: its sha256 is not the one weights.json records (damaged or replaced)')
    state = {}
    offset = 0
    for (_, key, axes), entry in zip(WEIGHTS, entries):
        shape = tuple(entry['shape'])
        count = int(np.prod(shape))
        if offset + 4 * count > len(data):
            raise ValueError(f'{path}: {len(data)} bytes, too few for the shapes weights.json lists')
        values = np.frombuffer(data, dtype='<f4', count=count, offset=offset).reshape(shape)
        state[key] = torch.from_numpy(values.transpose(axes).copy())
        offset += 4 * count
    if offset != len(data):
        raise ValueError(f'{path}: {len(data)} bytes, expected {offset}')
    return state


def write_weights(model, folder, input_normalization=None):
    """The model's weights as folder/weights.bin and weights.json (read_weights' format, bit for
    bit; the input normalization load() read, unless given); each file written beside its place and
    renamed over it."""
    if input_normalization is None:
        input_normalization = getattr(model, 'input_normalization', 'none')
    state = model.state_dict()
    chunks, entries = [], []
    for name, key, axes in WEIGHTS:
        values = state[key].detach().to('cpu', torch.float32).numpy().transpose(np.argsort(axes))
        entries.append({'name': name, 'shape': list(values.shape)})
        chunks.append(np.ascontiguousarray(values, dtype='<f4').tobytes())
    data = b''.join(chunks)
    manifest = {
        'format': WEIGHTS_FORMAT,
        'version': WEIGHTS_VERSION,
        'spec': SPEC_NAME,
        'spec_sha256': SPEC_SHA256,
        'input_normalization': input_normalization,
        'sha256': hashlib.sha256(data).hexdigest(),
        'weights': entries,
    }
    os.makedirs(folder, exist_ok=True)
    for file, content in (('weights.bin', data), ('weights.json', json.dumps(manifest, indent=1).encode())):
        path = os.path.join(folder, file)
        with open(path + '.tmp', 'wb') as f:
            f.write(content)
        os.replace(path + '.tmp', path)`.trimStart();

/** Helpers for TensorFlow's conventions, emitted only where forward calls them. */
const HELPERS: readonly { name: string; source: string }[] = [
  {
    name: '_pad_same',
    source: `def _pad_same(x, kernel, stride):
    """TensorFlow's 'same' padding for a strided conv: ceil(n / stride) outputs per axis, the odd
    pixel of padding at the end; it depends on the input's size, so it is computed here."""
    pads = []
    for n, k, s in reversed(list(zip(x.shape[2:], kernel, stride))):
        total = max((-(-n // s) - 1) * s + k - n, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)`,
  },
  {
    name: '_trim_end',
    source: `def _trim_end(x, amounts):
    """Drops amounts[i] trailing positions of spatial axis i: a 'same' transposed conv crops
    floor(t / 2) at the start and ceil(t / 2) at the end, PyTorch's padding crops both alike."""
    index = [slice(None), slice(None)] + [slice(0, n - a) for n, a in zip(x.shape[2:], amounts)]
    return x[tuple(index)]`,
  },
  {
    name: '_center_crop',
    source: `def _center_crop(x, ref):
    """x cropped to ref's spatial size, centred, the start rounded down (the 2015 paper's skips)."""
    index = [slice(None), slice(None)]
    for n, m in zip(x.shape[2:], ref.shape[2:]):
        start = (n - m) // 2
        index.append(slice(start, start + m))
    return x[tuple(index)]`,
  },
  {
    name: '_resize_linear',
    source: `def _resize_linear(x, scale):
    """Linear upsampling by whole factors with TensorFlow's coordinates: source = target / scale
    (no half-pixel centres, corners not aligned), which F.interpolate does not offer."""
    for axis, s in enumerate(scale, start=2):
        n = x.shape[axis]
        position = torch.arange(n * s, device=x.device, dtype=torch.float32) / s
        low = position.floor().long()
        high = (low + 1).clamp(max=n - 1)
        shape = [1] * x.dim()
        shape[axis] = -1
        w = (position - low).to(x.dtype).view(shape)
        x = x.index_select(axis, low) * (1 - w) + x.index_select(axis, high) * w
    return x`,
  },
];
