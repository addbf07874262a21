/**
 * Python names for IR ops: a module attribute or local variable per op, derived from the op's
 * name (`enc2.conv1` -> `enc2_conv1`), never a Python keyword, never an `nn.Module` member a
 * user's op name could shadow (`forward`, `training`, ...), never one of the generated module's
 * own names, and unique within a graph (a clash gets `_2`, `_3`, ... in op order).
 */
import type { Graph } from '../../ir/index.js';

const KEYWORDS = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except finally for ' +
    'from global if import in is lambda nonlocal not or pass raise return try while with yield'
  ).split(' '),
);

/** Members of nn.Module an attribute must not replace, and the names the generated code uses itself. */
const TAKEN = new Set(
  (
    'self x F nn np torch os json hashlib input output forward training train eval to cuda cpu float half ' +
    'double type apply modules children parameters buffers state_dict load_state_dict register_buffer ' +
    'register_parameter add_module zero_grad requires_grad_ named_modules named_parameters named_buffers ' +
    'named_children extra_repr dump_patches call_super_init'
  ).split(' '),
);

/** Every op's Python name, by op name. */
export function pythonNames(graph: Pick<Graph, 'ops'>): ReadonlyMap<string, string> {
  const used = new Set<string>();
  const out = new Map<string, string>();
  for (const op of graph.ops) {
    let base = op.name.replace(/[^A-Za-z0-9_]/g, '_');
    if (/^[0-9]/.test(base) || base === '') base = `op_${base}`;
    if (KEYWORDS.has(base) || TAKEN.has(base)) base = `${base}_`;
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    out.set(op.name, name);
  }
  return out;
}
