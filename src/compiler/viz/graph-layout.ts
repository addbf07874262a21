/**
 * A layered (Sugiyama-style) layout of a DAG, small and deterministic: layers by longest path
 * from the sources, edges longer than one layer split by dummy points (so they route around
 * boxes instead of through them), barycenter ordering to cut crossings, and x positions that
 * keep each node near its neighbors (least squares under minimum spacing, solved exactly per
 * layer by pool-adjacent-violators).
 */

export interface LayoutNode {
  readonly id: string;
  readonly width: number;
  /** Ids of the nodes it reads, in order (each an earlier node). */
  readonly inputs: readonly string[];
}

/** A point of the layout: a node or a dummy on a long edge. */
interface Slot {
  readonly node: string | undefined;
  readonly width: number;
  readonly up: number[];
  readonly down: number[];
  layer: number;
  x: number;
}

export interface LaidEdge {
  readonly from: string;
  readonly to: string;
  /** Which input of `to` this edge is (0-based). */
  readonly port: number;
  /** x of every dummy point between the two nodes, one per layer in between. */
  readonly via: readonly number[];
}

export interface GraphLayout {
  /** Node id -> layer and center x. */
  readonly nodes: ReadonlyMap<string, { readonly layer: number; readonly x: number }>;
  readonly edges: readonly LaidEdge[];
  readonly layers: number;
  /** Width of the widest layer (left edge at 0). */
  readonly width: number;
}

const SPACING = 28;
const DUMMY_SPACING = 14;

/** Lays out nodes given in topological order. */
export function layoutGraph(nodes: readonly LayoutNode[]): GraphLayout {
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const layerOf: number[] = nodes.map(() => 0);
  nodes.forEach((n, i) => {
    for (const input of n.inputs) layerOf[i] = Math.max(layerOf[i]!, layerOf[index.get(input)!]! + 1);
  });

  // Slots: the nodes first (same indices), then a dummy per layer crossed by a long edge.
  const slots: Slot[] = nodes.map((n, i) => ({
    node: n.id,
    width: n.width,
    up: [],
    down: [],
    layer: layerOf[i]!,
    x: 0,
  }));
  const chains: { from: string; to: string; port: number; dummies: number[] }[] = [];
  nodes.forEach((n, to) => {
    n.inputs.forEach((input, port) => {
      const from = index.get(input)!;
      const dummies: number[] = [];
      let prev = from;
      for (let layer = layerOf[from]! + 1; layer < layerOf[to]!; layer++) {
        const id = slots.push({ node: undefined, width: 0, up: [prev], down: [], layer, x: 0 }) - 1;
        slots[prev]!.down.push(id);
        dummies.push(id);
        prev = id;
      }
      slots[prev]!.down.push(to);
      slots[to]!.up.push(prev);
      chains.push({ from: input, to: n.id, port, dummies });
    });
  });

  const layerCount = Math.max(0, ...layerOf) + 1;
  const layers: number[][] = Array.from({ length: layerCount }, () => []);
  slots.forEach((s, i) => layers[s.layer]!.push(i));
  order(layers, slots);
  place(layers, slots);
  for (const c of [...chains].sort((a, b) => a.dummies.length - b.dummies.length)) straighten(c.dummies, layers, slots);

  const minX = Math.min(...slots.map((s) => s.x - s.width / 2));
  const maxX = Math.max(...slots.map((s) => s.x + s.width / 2));
  const out = new Map<string, { layer: number; x: number }>();
  nodes.forEach((n, i) => out.set(n.id, { layer: slots[i]!.layer, x: slots[i]!.x - minX }));
  return {
    nodes: out,
    edges: chains.map((c) => ({ from: c.from, to: c.to, port: c.port, via: c.dummies.map((d) => slots[d]!.x - minX) })),
    layers: layerCount,
    width: maxX - minX,
  };
}

/** Barycenter sweeps (down, then up), keeping the order with the fewest crossings. */
function order(layers: number[][], slots: Slot[]): void {
  const pos = new Map<number, number>();
  const index = () => layers.forEach((l) => l.forEach((s, i) => pos.set(s, i)));
  index();
  let best = layers.map((l) => [...l]);
  let bestCrossings = crossings(layers, slots, pos);
  for (let round = 0; round < 8 && bestCrossings > 0; round++) {
    const down = round % 2 === 0;
    for (let k = 1; k < layers.length; k++) {
      const li = down ? k : layers.length - 1 - k;
      const layer = layers[li]!;
      const key = (s: number) => {
        const ns = down ? slots[s]!.up : slots[s]!.down;
        return ns.length === 0 ? pos.get(s)! : ns.reduce((a, n) => a + pos.get(n)!, 0) / ns.length;
      };
      const keys = new Map(layer.map((s) => [s, key(s)]));
      layer.sort((a, b) => keys.get(a)! - keys.get(b)! || pos.get(a)! - pos.get(b)!);
      layer.forEach((s, i) => pos.set(s, i));
    }
    const c = crossings(layers, slots, pos);
    if (c < bestCrossings) {
      bestCrossings = c;
      best = layers.map((l) => [...l]);
    }
  }
  best.forEach((l, i) => (layers[i] = l));
}

/** Edge crossings between adjacent layers (pairs whose ends swap order). */
function crossings(layers: number[][], slots: Slot[], pos: Map<number, number>): number {
  let total = 0;
  for (const layer of layers) {
    const edges = layer.flatMap((s) => slots[s]!.down.map((t) => [pos.get(s)!, pos.get(t)!] as const));
    for (let i = 0; i < edges.length; i++)
      for (let j = i + 1; j < edges.length; j++)
        if ((edges[i]![0] - edges[j]![0]) * (edges[i]![1] - edges[j]![1]) < 0) total++;
  }
  return total;
}

/** x positions: start packed, then pull each layer toward its neighbors, alternating directions. */
function place(layers: number[][], slots: Slot[]): void {
  const gap = (a: Slot, b: Slot) => (a.width + b.width) / 2 + (a.node && b.node ? SPACING : DUMMY_SPACING);
  for (const layer of layers)
    layer.forEach(
      (s, i) => (slots[s]!.x = i === 0 ? 0 : slots[layer[i - 1]!]!.x + gap(slots[layer[i - 1]!]!, slots[s]!)),
    );
  const chainUp = (s: number) => {
    const u = slots[s]!.up.length === 1 ? slots[s]!.up[0]! : undefined;
    return u !== undefined && slots[s]!.node && slots[u]!.node && slots[u]!.down.length === 1 ? u : undefined;
  };
  const chainDown = (s: number) => {
    const d = slots[s]!.down.length === 1 ? slots[s]!.down[0]! : undefined;
    return d !== undefined && slots[s]!.node && slots[d]!.node && slots[d]!.up.length === 1 ? d : undefined;
  };
  const mean = (ns: readonly number[], fallback: number) =>
    ns.length === 0 ? fallback : ns.reduce((a, n) => a + slots[n]!.x, 0) / ns.length;
  // An odd number of rounds: the last one runs top-down, so a chain follows its head.
  for (let round = 0; round < 13; round++) {
    const down = round % 2 === 0;
    for (let k = 0; k < layers.length; k++) {
      const layer = layers[down ? k : layers.length - 1 - k]!;
      const want = layer.map((s) => {
        const sl = slots[s]!;
        // A box in a plain chain (one in, one out) lines up with its chain neighbor first.
        const link = down ? chainUp(s) : chainDown(s);
        if (link !== undefined) return slots[link]!.x;
        const ns = down ? sl.up : sl.down;
        // A box lines up with the boxes next to it; the long edges passing by do not pull it.
        const boxes = sl.node ? ns.filter((n) => slots[n]!.node) : ns;
        return mean(boxes.length > 0 ? boxes : ns, sl.x);
      });
      const gaps = layer.map((s, i) => (i === 0 ? 0 : gap(slots[layer[i - 1]!]!, slots[s]!)));
      // Boxes hold their place and long edges give way: chains of ops stay straight.
      const xs = closestSpaced(
        want,
        gaps,
        layer.map((s) => (slots[s]!.node ? 1000 : 1)),
      );
      layer.forEach((s, i) => (slots[s]!.x = xs[i]!));
    }
  }
}

/**
 * Puts a long edge's dummies on one vertical line: anywhere between their neighbors when that
 * fits (as near their mean as it can), else just clear of the neighbors on the side nearer the
 * mean, pushing the rest of those layers aside. Shorter edges go first, so nested skips end up
 * as parallel lines.
 */
function straighten(dummies: readonly number[], layers: number[][], slots: Slot[]): void {
  if (dummies.length < 2) return;
  const gap = (a: Slot, b: Slot) => (a.width + b.width) / 2 + (a.node && b.node ? SPACING : DUMMY_SPACING);
  let lo = -Infinity;
  let hi = Infinity;
  for (const d of dummies) {
    const layer = layers[slots[d]!.layer]!;
    const i = layer.indexOf(d);
    const before = layer[i - 1];
    const after = layer[i + 1];
    if (before !== undefined) lo = Math.max(lo, slots[before]!.x + gap(slots[before]!, slots[d]!));
    if (after !== undefined) hi = Math.min(hi, slots[after]!.x - gap(slots[after]!, slots[d]!));
  }
  const mean = dummies.reduce((a, d) => a + slots[d]!.x, 0) / dummies.length;
  /** Sets the line at x, pushing the rest of each layer aside; returns how many boxes moved. */
  const apply = (x: number, commit: boolean): number => {
    let moved = 0;
    for (const d of dummies) {
      const layer = layers[slots[d]!.layer]!;
      const i = layer.indexOf(d);
      const xs = layer.map((s) => slots[s]!.x);
      xs[i] = x;
      for (let k = i + 1; k < layer.length; k++)
        xs[k] = Math.max(xs[k]!, xs[k - 1]! + gap(slots[layer[k - 1]!]!, slots[layer[k]!]!));
      for (let k = i - 1; k >= 0; k--)
        xs[k] = Math.min(xs[k]!, xs[k + 1]! - gap(slots[layer[k + 1]!]!, slots[layer[k]!]!));
      layer.forEach((s, k) => {
        if (slots[s]!.node && xs[k] !== slots[s]!.x) moved++;
        if (commit) slots[s]!.x = xs[k]!;
      });
    }
    return moved;
  };
  // Boxes stay put where they can: a line that would shove boxes goes to the other side.
  const candidates =
    lo <= hi
      ? [Math.min(hi, Math.max(lo, mean))]
      : [lo, hi].filter(Number.isFinite).sort((a, b) => Math.abs(a - mean) - Math.abs(b - mean));
  const best = [...candidates].sort((a, b) => apply(a, false) - apply(b, false))[0];
  if (best !== undefined) apply(best, true);
}

/**
 * The xs closest to `want` (weighted least squares) with xs[i] - xs[i-1] >= gaps[i]:
 * subtracting the running sum of gaps makes it an isotonic regression, which
 * pool-adjacent-violators solves exactly.
 */
export function closestSpaced(
  want: readonly number[],
  gaps: readonly number[],
  weights: readonly number[] = want.map(() => 1),
): number[] {
  const offset: number[] = [];
  want.forEach((_, i) => offset.push((offset[i - 1] ?? 0) + (i === 0 ? 0 : gaps[i]!)));
  const blocks: { sum: number; weight: number; count: number }[] = [];
  want.forEach((w, i) => {
    const weight = weights[i] ?? 1;
    blocks.push({ sum: (w - offset[i]!) * weight, weight, count: 1 });
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1]!;
      const a = blocks[blocks.length - 2]!;
      if (a.sum / a.weight <= b.sum / b.weight) break;
      blocks.pop();
      a.sum += b.sum;
      a.weight += b.weight;
      a.count += b.count;
    }
  });
  const out: number[] = [];
  for (const b of blocks) for (let k = 0; k < b.count; k++) out.push(b.sum / b.weight + offset[out.length]!);
  return out;
}
