import type { Result } from '../diagnostics/index.js';
import type { Graph } from '../ir/index.js';
import type { SpecDocument } from '../spec/document.js';
import type { SpecValue } from '../spec/model.js';
import { lowerGraph } from './graph.js';
import { lowerTemplate } from './template.js';

/** Lowers a checked spec to the IR (template networks cannot fail here; explicit graphs can). */
export function lower(doc: SpecDocument, spec: SpecValue): Result<Graph> {
  if (spec.network) return { value: lowerTemplate(doc, spec), diagnostics: [] };
  return lowerGraph(doc, spec);
}
