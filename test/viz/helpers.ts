import { compileFile, root } from '../helpers.js';
import { compileSpec, defaultSize, type Graph } from '../../src/compiler/index.js';
import { vizSize, type VizSize } from '../../src/compiler/viz/index.js';

/** A shipped spec's graph (it must compile cleanly). */
export function graphOf(path: string): Graph {
  const c = compileFile(path);
  if (!c.graph) throw new Error(`${path} does not compile: ${c.diagnostics.map((d) => d.message).join('; ')}`);
  return c.graph;
}

/** A YAML spec given as text, compiled (it must compile cleanly). */
export function graphFromYaml(body: string): Graph {
  const c = compileSpec({ name: 'inline.yaml', body });
  if (!c.graph) throw new Error(`inline spec does not compile: ${c.diagnostics.map((d) => d.message).join('; ')}`);
  return c.graph;
}

/** The size a diagram is drawn at by default: the spec's, or 256 when it fits. */
export function sizeOf(g: Graph): VizSize {
  return vizSize(g.inputSize === 'any' ? defaultSize(g) : g.inputSize);
}

/** A template spec of a given depth: filters 16, 32, ... doubling. */
export function depthSpec(depth: number, extra = ''): string {
  const filters = Array.from({ length: depth }, (_, i) => 16 * 2 ** i);
  return `name: depth${depth}\ninput: {channels: 1, size: any}\noutput: {classes: 2, activation: softmax}\nnetwork:\n  depth: ${depth}\n  filters: [${filters.join(', ')}]\n${extra}`;
}

export { root };
