import { Codes, error, type Diagnostic, type Result } from '../diagnostics/index.js';
import type { Graph } from '../ir/index.js';
import { keySpan, valueSpan, type SpecDocument } from '../spec/document.js';
import type { SpecValue } from '../spec/model.js';
import { lowerGraph } from './graph.js';
import { lowerTemplate } from './template.js';

/** Lowers a checked spec to the IR. */
export function lower(doc: SpecDocument, spec: SpecValue): Result<Graph> {
  if (!spec.network) return lowerGraph(doc, spec);
  const graph = lowerTemplate(doc, spec);
  const diagnostics = checkAddChannels(doc, graph);
  return { value: diagnostics.length > 0 ? undefined : graph, diagnostics };
}

/**
 * Additive skips need the decoder's filters to equal the encoder's at each level; per-block
 * filter overrides can break that, and the template cannot know until it is lowered.
 */
function checkAddChannels(doc: SpecDocument, graph: Graph): Diagnostic[] {
  const channels = new Map(graph.ops.map((op) => [op.name, op.channels]));
  const out: Diagnostic[] = [];
  for (const op of graph.ops) {
    if (op.kind !== 'Add' || !op.name.endsWith('.add')) continue; // residual adds match by construction
    const [skip, up] = op.inputs.map((n) => channels.get(n) ?? 0);
    if (skip === up) continue;
    const level = op.name.split('.')[0]!;
    // Point at the override that made the filters differ, else at `skip: add`.
    const at = [`/network/blocks/${level}/filters`, `/network/blocks/enc${level.slice(3)}/filters`].find((p) =>
      doc.spans.has(p),
    );
    out.push(
      error(
        Codes.skipChannels,
        `${op.name} adds the encoder's ${skip} channels to the decoder's ${up}; skip: add needs them equal`,
        (at !== undefined ? keySpan(doc, at) : undefined) ?? valueSpan(doc, '/network/skip') ?? op.span,
        [`give ${level} and enc${level.slice(3)} the same filters, or use skip: concat`],
      ),
    );
  }
  return out;
}
