import { Codes, error, warning, type Diagnostic } from '../diagnostics/index.js';
import { keySpan, pointer, valueSpan, type SpecDocument } from './document.js';
import {
  activationSteps,
  blockNames,
  bottleneckFilters,
  defaults,
  inputDims,
  levelFilters,
  outputActivation,
  type BlockOverride,
  type BlockTemplate,
  type SpecValue,
  type Step,
} from './model.js';

/**
 * Rules across fields that a JSON Schema cannot say well: network vs graph, filters vs depth,
 * classes vs activation, block orders, dropout placement, override names, loss vs head.
 * Runs on a schema-valid value; returns every problem found.
 */
export function checkSemantics(doc: SpecDocument, spec: SpecValue): Diagnostic[] {
  const out: Diagnostic[] = [];
  checkNetworkOrGraph(doc, spec, out);
  checkDims(doc, spec, out);
  checkOutput(doc, spec, out);
  if (spec.network) checkNetwork(doc, spec, out);
  checkTrain(doc, spec, out);
  return out;
}

function checkNetworkOrGraph(doc: SpecDocument, spec: SpecValue, out: Diagnostic[]): void {
  if (spec.network && spec.graph) {
    out.push(
      error(
        Codes.networkOrGraph,
        "a spec has either 'network' (a U-Net template) or 'graph' (explicit nodes), not both",
        keySpan(doc, '/graph'),
      ),
    );
  } else if (!spec.network && !spec.graph) {
    out.push(
      error(
        Codes.networkOrGraph,
        "missing 'network': describe the U-Net as a template (network) or as explicit nodes (graph)",
        valueSpan(doc, ''),
      ),
    );
  }
  if (spec.network && spec.output.from !== undefined) {
    out.push(
      error(
        Codes.networkOrGraph,
        "'output.from' names a graph node; template networks end in their own head",
        keySpan(doc, '/output/from'),
      ),
    );
  }
}

/**
 * Every size and kernel list has one entry per spatial axis (input.dims), and 3D networks use
 * only what has a 3D form in every backend (tfjs-layers has no UpSampling3D).
 */
function checkDims(doc: SpecDocument, spec: SpecValue, out: Diagnostic[]): void {
  const dims = inputDims(spec);
  const axes = dims === 3 ? 'depth, height, width' : 'height, width';
  const dimsNote =
    spec.input.dims === undefined ? 'input.dims is 2 unless set; volumes need dims: 3' : `input.dims is ${dims}`;
  const list = (path: string, what: string, value: unknown) => {
    if (!Array.isArray(value) || value.length === dims) return;
    out.push(
      error(
        Codes.dimsMismatch,
        `${what} has ${value.length} sizes but the network is ${dims}D: give [${axes}] or one number`,
        valueSpan(doc, path),
        [dimsNote],
      ),
    );
  };
  const size = spec.input.size;
  if (Array.isArray(size) && size.length !== dims) {
    out.push(
      error(
        Codes.dimsMismatch,
        `input.size has ${size.length} sizes but the network is ${dims}D: give [${axes}]`,
        valueSpan(doc, '/input/size'),
        [dimsNote],
      ),
    );
  }
  const patch = spec.train?.patch;
  if (Array.isArray(patch) && patch.length !== dims) {
    out.push(
      error(
        Codes.dimsMismatch,
        `train.patch has ${patch.length} sizes but the network is ${dims}D: give [${axes}]`,
        valueSpan(doc, '/train/patch'),
        [dimsNote],
      ),
    );
  }
  const augment = spec.train?.augment;
  if (dims === 3 && typeof augment === 'object' && augment !== null) {
    for (const [key, value] of Object.entries(augment as Record<string, unknown>)) {
      if (!['elastic', 'scale', 'invert', 'blur', 'color', 'gray'].includes(key) || value === false || value === 0)
        continue;
      out.push(
        warning(
          Codes.augmentNotIn3d,
          `train.augment.${key} is not applied to 3D patches yet (they get flips, in-plane rotations and intensity changes)`,
          keySpan(doc, `/train/augment/${key}`),
        ),
      );
    }
  }
  const net = spec.network;
  if (net) {
    list('/network/block/kernel', 'network.block.kernel', net.block?.kernel);
    list('/network/pool', 'network.pool', net.pool);
    for (const [name, o] of Object.entries(net.blocks ?? {})) {
      list(pointer(['network', 'blocks', name, 'kernel']), `network.blocks.${name}.kernel`, o.kernel);
      list(pointer(['network', 'blocks', name, 'pool']), `network.blocks.${name}.pool`, o.pool);
      if (o.pool !== undefined && !/^enc\d+$/.test(name)) {
        out.push(
          error(
            Codes.unknownBlock,
            `network.blocks.${name}.pool: pooling follows encoder blocks only (${name} is not one)`,
            keySpan(doc, pointer(['network', 'blocks', name, 'pool'])),
            ['set it on the encoder block of the same level; its decoder level up-samples by the same factor'],
          ),
        );
      }
    }
    if (dims === 3 && (net.up === 'nearest' || net.up === 'bilinear')) {
      out.push(
        error(
          Codes.notIn3d,
          `up: ${net.up} has no 3D form (tfjs has no 3D resize layer)`,
          valueSpan(doc, '/network/up'),
          ['use up: transpose (2x2x2 stride-2 transposed convolutions) for 3D networks'],
        ),
      );
    }
  }
  (spec.graph ?? []).forEach((node, i) => {
    for (const key of ['kernel', 'size', 'scale', 'stride'] as const)
      list(`/graph/${i}/${key}`, `node '${node.name}' ${key}`, node[key]);
    if (dims === 3 && node.op === 'upsample') {
      out.push(
        error(
          Codes.notIn3d,
          `node '${node.name}': upsample has no 3D form (tfjs has no 3D resize layer)`,
          valueSpan(doc, `/graph/${i}/op`),
          ['use conv-transpose with stride 2 in 3D graphs'],
        ),
      );
    }
  });
}

function checkOutput(doc: SpecDocument, spec: SpecValue, out: Diagnostic[]): void {
  const { classes, class_names } = spec.output;
  const activation = outputActivation(spec);
  if (spec.output.split && spec.output.instances !== 'boundary') {
    out.push(
      error(
        Codes.instances,
        'output.split says how a boundary head splits instances, but output.instances is not boundary',
        keySpan(doc, '/output/split'),
        ['add output.instances: boundary (with labels/ in the data), or remove output.split'],
      ),
    );
  }
  if (spec.output.instances) {
    // The head is then 3 softmax channels whatever classes says: the checks below are about plain heads.
    checkInstances(doc, spec, out);
    return;
  }
  if (activation === 'softmax' && classes === 1) {
    out.push(
      error(
        Codes.classesVsActivation,
        'softmax over 1 class is always 1.0',
        valueSpan(doc, '/output/activation') ?? valueSpan(doc, '/output/classes'),
        ['use sigmoid for a binary mask, or classes: 2 (background and foreground) with softmax'],
      ),
    );
  }
  if (activation === 'sigmoid' && classes > 1) {
    out.push(
      warning(
        Codes.multiLabel,
        `sigmoid with ${classes} classes makes independent (multi-label) masks`,
        valueSpan(doc, '/output/activation') ?? valueSpan(doc, '/output'),
        ['use softmax when each pixel has exactly one class'],
      ),
    );
  }
  if (class_names && class_names.length !== classes) {
    out.push(
      error(
        Codes.classNames,
        `output.class_names has ${class_names.length} name${class_names.length === 1 ? '' : 's'} but classes is ${classes}`,
        valueSpan(doc, '/output/class_names'),
      ),
    );
  }
  if (class_names) {
    const seen = new Set<string>();
    class_names.forEach((n, i) => {
      if (seen.has(n))
        out.push(
          error(Codes.classNames, `class name '${n}' is given twice`, valueSpan(doc, `/output/class_names/${i}`)),
        );
      seen.add(n);
    });
  }
}

function checkNetwork(doc: SpecDocument, spec: SpecValue, out: Diagnostic[]): void {
  const net = spec.network!;
  if (Array.isArray(net.filters) && net.filters.length !== net.depth) {
    out.push(
      error(
        Codes.filtersVsDepth,
        `network.filters has ${net.filters.length} entr${net.filters.length === 1 ? 'y' : 'ies'} but depth is ${net.depth}`,
        valueSpan(doc, '/network/filters'),
        [`give one number per level (${net.depth}), or {base, growth} to derive them`],
      ),
    );
  }
  if (net.attention && net.skip === 'none') {
    out.push(
      warning(
        Codes.attentionWithoutSkips,
        'attention gates act on skip connections, and skip: none has none',
        keySpan(doc, '/network/attention'),
      ),
    );
  }
  const template = net.block ?? {};
  checkBlock(doc, '/network/block', template, out);
  const levels = net.depth + 1;
  if (Array.isArray(template.dropout) && template.dropout.length !== levels) {
    out.push(
      error(
        Codes.dropoutLevels,
        `network.block.dropout lists ${template.dropout.length} rates but there are ${levels} levels (depth ${net.depth} and the bottleneck)`,
        valueSpan(doc, '/network/block/dropout'),
        ['decoder blocks use the rate of the encoder level they mirror'],
      ),
    );
  }
  const names = new Set(blockNames(net.depth));
  for (const [name, override] of Object.entries(net.blocks ?? {})) {
    const path = pointer(['network', 'blocks', name]);
    if (!names.has(name)) {
      out.push(
        error(Codes.unknownBlock, `no block '${name}' in a network of depth ${net.depth}`, keySpan(doc, path), [
          `blocks are enc1..enc${net.depth}, bottleneck and dec1..dec${net.depth}`,
        ]),
      );
      continue;
    }
    checkBlock(doc, path, { ...template, ...override }, out, override);
  }
  checkSeRatio(doc, spec, out);
  checkDeepSupervision(doc, spec, out);
}

/** Deep supervision needs decoder levels below the top, and same padding (targets are the mask pooled by 2^k). */
function checkDeepSupervision(doc: SpecDocument, spec: SpecValue, out: Diagnostic[]): void {
  const net = spec.network!;
  const ds = net.deep_supervision;
  if (ds === undefined || ds === false) return;
  const at = valueSpan(doc, '/network/deep_supervision');
  if (net.depth < 2) {
    out.push(
      error(Codes.deepSupervision, 'deep supervision needs a decoder level below the top, and depth 1 has none', at, [
        'use depth 2 or more',
      ]),
    );
    return;
  }
  if (typeof ds === 'number' && ds > net.depth - 1) {
    out.push(
      error(
        Codes.deepSupervision,
        `deep_supervision: ${ds} asks for ${ds} levels below the top, but depth ${net.depth} has ${net.depth - 1}`,
        at,
        [`use ${net.depth - 1} or true`],
      ),
    );
  }
  const valid = net.block?.padding === 'valid' || Object.values(net.blocks ?? {}).some((o) => o.padding === 'valid');
  if (valid) {
    out.push(
      error(
        Codes.deepSupervision,
        'deep supervision needs padding: same (its targets are the mask pooled by 2, 4, ...; unpadded convs shrink the levels unevenly)',
        at,
      ),
    );
  }
}

/**
 * A squeeze-excitation ratio above a block's channels squeezes it to a single channel (the
 * max(1, floor(C / r)) floor): legal, but rarely meant. One warning per place that sets the ratio.
 */
function checkSeRatio(doc: SpecDocument, spec: SpecValue, out: Diagnostic[]): void {
  const net = spec.network!;
  const filters = levelFilters(net);
  const names = blockNames(net.depth);
  const byPath = new Map<string, { ratio: number; blocks: string[]; channels: number[] }>();
  for (const name of names) {
    const o = net.blocks?.[name];
    const ratio = o?.se ?? net.block?.se ?? defaults.se;
    const level = name === 'bottleneck' ? -1 : Number(name.slice(3)) - 1;
    const channels = o?.filters ?? (level < 0 ? bottleneckFilters(net) : (filters[level] ?? 1));
    if (ratio <= channels) continue;
    const path = o?.se !== undefined ? pointer(['network', 'blocks', name, 'se']) : '/network/block/se';
    const entry = byPath.get(path) ?? { ratio, blocks: [], channels: [] };
    entry.blocks.push(name);
    entry.channels.push(channels);
    byPath.set(path, entry);
  }
  for (const [path, { ratio, blocks, channels }] of byPath) {
    const which =
      blocks.length === 1
        ? `block ${blocks[0]} has ${channels[0]} channels`
        : `blocks ${blocks.join(', ')} have ${Math.min(...channels) === Math.max(...channels) ? channels[0] : `${Math.min(...channels)} to ${Math.max(...channels)}`} channels`;
    out.push(
      warning(
        Codes.seRatio,
        `squeeze-excitation ratio ${ratio} is larger than the channels it squeezes: ${which}, so the squeeze keeps 1 channel`,
        valueSpan(doc, path),
        ['the paper uses 16 on 64 or more channels; use a smaller ratio for narrow blocks'],
      ),
    );
  }
}

/** Checks one block's effective settings; errors point at the override when it set the field. */
function checkBlock(
  doc: SpecDocument,
  path: string,
  block: BlockTemplate,
  out: Diagnostic[],
  override?: BlockOverride,
): void {
  const orderPath = override?.order ? `${path}/order` : '/network/block/order';
  const order: readonly Step[] = block.order ?? defaults.order;
  const counts = new Map<string, number>();
  order.forEach((step, i) => {
    const kind = activationSteps.includes(step) ? 'activation' : step;
    const n = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, n);
    if (n === 2) {
      const what = kind === 'activation' ? 'an activation' : `'${step}'`;
      out.push(
        error(Codes.badOrder, `block order has ${what} twice`, valueSpan(doc, `${orderPath}/${i}`), [
          'each unit is one conv, at most one activation, one batchnorm and one dropout',
        ]),
      );
    }
  });
  if (!counts.has('conv')) {
    out.push(
      error(Codes.badOrder, "block order has no 'conv' step", valueSpan(doc, orderPath) ?? valueSpan(doc, path), [
        'the reference order is [conv, relu, batchnorm, dropout]',
      ]),
    );
  }
  const at = block.dropout_at ?? defaults.dropout_at;
  const rates: readonly number[] = typeof block.dropout === 'number' ? [block.dropout] : (block.dropout ?? [0]);
  const hasStep = order.includes('dropout');
  const dropoutPath = override?.dropout !== undefined ? `${path}/dropout` : '/network/block/dropout';
  if (at === 'conv' && !hasStep && rates.some((r) => r > 0)) {
    out.push(
      error(
        Codes.dropoutWithoutStep,
        `dropout rate ${Math.max(...rates)} is set but the block order has no 'dropout' step`,
        valueSpan(doc, dropoutPath),
        ["add 'dropout' to the order, or set dropout_at: block to drop once at the end of the block"],
      ),
    );
  }
  if (at === 'block' && hasStep) {
    const atPath = override?.dropout_at ? `${path}/dropout_at` : '/network/block/dropout_at';
    out.push(
      error(
        Codes.badOrder,
        "dropout_at: block puts dropout after the block's last unit, but the order also lists 'dropout'",
        valueSpan(doc, atPath),
        ["remove 'dropout' from the order, or use dropout_at: conv"],
      ),
    );
  }
}

/** `output.instances: boundary`: one kind of object, a softmax head (given or not), 2D images. */
function checkInstances(doc: SpecDocument, spec: SpecValue, out: Diagnostic[]): void {
  const { classes, class_names, activation } = spec.output;
  const span = valueSpan(doc, '/output/instances');
  if (classes !== 1) {
    out.push(
      error(
        Codes.instances,
        `output.instances: boundary splits one kind of object; classes is ${classes}`,
        valueSpan(doc, '/output/classes') ?? span,
        ['use classes: 1: the network then learns background, interior and boundary (3 softmax channels)'],
      ),
    );
  }
  if (activation !== undefined && activation !== 'softmax') {
    out.push(
      error(
        Codes.instances,
        `output.instances: boundary trains a softmax head over background, interior and boundary, but output.activation is ${activation}`,
        valueSpan(doc, '/output/activation') ?? span,
        ['remove output.activation (softmax is implied)'],
      ),
    );
  }
  if (class_names && class_names.length !== 1) {
    out.push(
      error(
        Codes.classNames,
        `with output.instances, class_names names the one kind of object (1 name), found ${class_names.length}`,
        valueSpan(doc, '/output/class_names'),
      ),
    );
  }
  if (inputDims(spec) === 3) {
    out.push(
      error(
        Codes.instances,
        'output.instances: boundary is for 2D images; 3D networks split instances by connected components (predict --instances)',
        span ?? valueSpan(doc, '/output'),
      ),
    );
  }
}

function checkTrain(doc: SpecDocument, spec: SpecValue, out: Diagnostic[]): void {
  const train = spec.train;
  if (!train) return;
  const activation = outputActivation(spec);
  const loss = train.loss;
  if ((loss === 'ce' || loss === 'ce-dice') && activation !== 'softmax') {
    out.push(
      error(
        Codes.trainMismatch,
        `loss '${loss}' needs a softmax head, but output.activation is ${activation}`,
        valueSpan(doc, '/train/loss'),
        ["use 'bce' or 'bce-dice' for sigmoid heads"],
      ),
    );
  }
  if ((loss === 'bce' || loss === 'bce-dice' || loss === 'focal') && activation === 'softmax') {
    const head = spec.output.instances
      ? `output.instances: ${spec.output.instances} trains a softmax head`
      : 'output.activation is softmax';
    out.push(
      error(Codes.trainMismatch, `loss '${loss}' is for sigmoid heads, but ${head}`, valueSpan(doc, '/train/loss'), [
        "use 'ce' or 'ce-dice' for softmax heads",
      ]),
    );
  }
  if (train.contact_weight !== undefined && spec.output.instances !== 'boundary') {
    out.push(
      error(
        Codes.trainMismatch,
        'train.contact_weight weighs the outline between touching instances of a boundary head, but output.instances is not boundary',
        keySpan(doc, '/train/contact_weight'),
        ['add output.instances: boundary (with labels/ in the data), or remove train.contact_weight'],
      ),
    );
  }
  if (train.momentum !== undefined && train.optimizer !== 'sgd') {
    out.push(
      error(Codes.trainMismatch, "train.momentum applies to the 'sgd' optimizer only", keySpan(doc, '/train/momentum')),
    );
  }
}
