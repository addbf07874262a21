/**
 * The CST visitor: turns the parse tree of a DSL spec into the plain value the YAML form would give
 * (only the keys written), with spans, reporting unknown statements (E104) and statements or keys
 * given twice (E105). It tolerates the partial trees that error recovery leaves.
 */
import type { CstNode, IToken } from 'chevrotain';
import { Codes, didYouMean, error } from '../diagnostics/index.js';
import type { JsonValue } from '../spec/document.js';
import { visitBlock } from './block.js';
import { childPath, tok, type DocBuilder, type MutableObject } from './builder.js';
import type {
  FiltersStatementCstNode,
  InputStatementCstNode,
  NodeStatementCstNode,
  OutputStatementCstNode,
  PlainValueCstNode,
  SpecCstNode,
  StatementCstChildren,
  StatementCstNode,
} from './cst.js';
import { statementWords } from './tokens.js';
import { nameOf, numberOf, objectOf, sizeOf, sizeSpans, unquote } from './values.js';

/** Visits the whole file, filling the builder's root object. */
export function visitSpec(b: DocBuilder, node: SpecCstNode): void {
  const c = node.children;
  const unet = tok(c.Unet);
  const name = nameOf(c.nameValue?.[0]);
  if (unet && name) {
    b.spans.set('', b.range(unet, name.token));
    b.member(b.root, '', 'name', name.text, b.tokenSpan(unet), b.tokenSpan(name.token), "'name'");
  }
  for (const s of c.statement ?? []) visitStatement(b, s);
}

type StatementKind = keyof StatementCstChildren;
type StatementNodes = { [K in StatementKind]-?: NonNullable<StatementCstChildren[K]>[number] };
type StatementVisitors = { [K in StatementKind]: (b: DocBuilder, node: StatementNodes[K]) => void };

/** One visitor per kind of statement, by the statement rule's name. */
const statementVisitors: StatementVisitors = {
  versionStatement: (b, n) => numberStatement(b, b.root, '', 'unetc', n.children.Version, n.children.NumberLiteral),
  descriptionStatement: (b, n) => {
    const keyword = tok(n.children.Description);
    const text = tok(n.children.StringLiteral);
    if (keyword && text)
      b.member(
        b.root,
        '',
        'description',
        unquote(text.image),
        b.tokenSpan(keyword),
        b.tokenSpan(text),
        "statement 'description'",
      );
  },
  inputStatement: visitInput,
  outputStatement: visitOutput,
  depthStatement: (b, n) =>
    numberStatement(
      b,
      network(b, n, n.children.Depth),
      '/network',
      'depth',
      n.children.Depth,
      n.children.NumberLiteral,
    ),
  filtersStatement: visitFilters,
  bottleneckStatement: (b, n) =>
    numberStatement(
      b,
      network(b, n, n.children.Bottleneck),
      '/network',
      'bottleneck',
      n.children.Bottleneck,
      n.children.NumberLiteral,
    ),
  blockStatement: (b, n) => visitBlock(b, network(b, n, n.children.Block), n),
  downStatement: (b, n) => nameStatement(b, 'down', n, n.children.Down, n.children.plainValue),
  upStatement: (b, n) => nameStatement(b, 'up', n, n.children.Up, n.children.plainValue),
  skipStatement: (b, n) => nameStatement(b, 'skip', n, n.children.Skip, n.children.plainValue),
  attentionStatement: (b, n) => {
    const k = tok(n.children.Attention);
    const v = nameOf(n.children.plainValue?.[0]);
    // true / false as booleans; any other word stays a string for the schema to report.
    const value = v?.text === 'true' ? true : v?.text === 'false' ? false : v?.text;
    if (k && v && value !== undefined)
      b.member(
        network(b, n, n.children.Attention),
        '/network',
        'attention',
        value,
        b.tokenSpan(k),
        b.tokenSpan(v.token),
        "statement 'attention'",
      );
  },
  deepSupervisionStatement: (b, n) => {
    const k = tok(n.children.DeepSupervision);
    const num = tok(n.children.NumberLiteral);
    const v = nameOf(n.children.plainValue?.[0]);
    const value = num ? numberOf(num) : v?.text === 'true' ? true : v?.text === 'false' ? false : v?.text;
    const at = num ?? v?.token;
    if (k && at && value !== undefined)
      b.member(
        network(b, n, n.children.DeepSupervision),
        '/network',
        'deep_supervision',
        value,
        b.tokenSpan(k),
        b.tokenSpan(at),
        "statement 'deep-supervision'",
      );
  },
  poolStatement: (b, n) => {
    const k = tok(n.children.Pool);
    const v = tok(n.children.NumberLiteral) ?? tok(n.children.SizeLiteral);
    if (!k || !v) return;
    const sizes = v.tokenType.name === 'SizeLiteral' ? sizeOf(v) : [numberOf(v)];
    const value: JsonValue = sizes.length === 1 ? sizes[0]! : sizes;
    if (
      b.member(
        network(b, n, n.children.Pool),
        '/network',
        'pool',
        value,
        b.tokenSpan(k),
        b.tokenSpan(v),
        "statement 'pool'",
      ) &&
      Array.isArray(value)
    )
      sizeSpans(b, childPath('/network', 'pool'), b.tokenSpan(v));
  },
  trainStatement: (b, n) => {
    const keyword = tok(n.children.Train);
    const obj = n.children.object?.[0];
    const path = keyword && obj ? b.claim(b.root, '', 'train', b.tokenSpan(keyword), "statement 'train'") : undefined;
    if (path !== undefined && obj) b.set(b.root, path, 'train', objectOf(b, obj, path), b.range(obj));
  },
  nodeStatement: visitNode,
  unknownStatement: (b, n) => {
    const word = tok(n.children.PlainName);
    if (word === undefined) return;
    const suggestion = didYouMean(word.image, statementWords);
    b.diagnostics.push(
      error(Codes.dslUnknownKeyword, `unknown statement '${word.image}'`, b.tokenSpan(word), [], suggestion),
    );
  },
};

const statementKinds = Object.keys(statementVisitors) as StatementKind[];

function visitStatement(b: DocBuilder, node: StatementCstNode): void {
  for (const kind of statementKinds) {
    const child = node.children[kind]?.[0];
    if (child) dispatch(b, kind, child);
  }
}

// Generic so that TypeScript pairs each kind's node with its own visitor.
function dispatch<K extends StatementKind>(b: DocBuilder, kind: K, node: StatementNodes[K]): void {
  statementVisitors[kind](b, node);
}

/** The `network` object, created by the first statement that writes into it. */
function network(b: DocBuilder, statement: CstNode, keyword: readonly IToken[] | undefined): MutableObject {
  const k = tok(keyword);
  return b.child(b.root, '', 'network', k ? b.tokenSpan(k) : b.range(statement), b.range(statement));
}

function numberStatement(
  b: DocBuilder,
  obj: MutableObject,
  parentPath: string,
  key: string,
  keyword: readonly IToken[] | undefined,
  number: readonly IToken[] | undefined,
): void {
  const k = tok(keyword);
  const n = tok(number);
  if (k && n) b.member(obj, parentPath, key, numberOf(n), b.tokenSpan(k), b.tokenSpan(n), `statement '${k.image}'`);
}

function nameStatement(
  b: DocBuilder,
  key: string,
  statement: CstNode,
  keyword: readonly IToken[] | undefined,
  value: PlainValueCstNode[] | undefined,
): void {
  const k = tok(keyword);
  const v = nameOf(value?.[0]);
  if (k && v)
    b.member(
      network(b, statement, keyword),
      '/network',
      key,
      v.text,
      b.tokenSpan(k),
      b.tokenSpan(v.token),
      `statement '${key}'`,
    );
}

function visitInput(b: DocBuilder, node: InputStatementCstNode): void {
  const keyword = tok(node.children.Input);
  if (!keyword) return;
  const path = b.claim(b.root, '', 'input', b.tokenSpan(keyword), "statement 'input'");
  if (path === undefined) return;
  const input: MutableObject = {};
  b.set(b.root, path, 'input', input, b.range(node));
  for (const item of node.children.inputItem ?? []) {
    const c = item.children;
    const channels = tok(c.Channels);
    const n = tok(c.NumberLiteral);
    if (channels && n)
      b.member(input, path, 'channels', numberOf(n), b.tokenSpan(channels), b.tokenSpan(n), "'channels'");
    const dims = tok(c.Dims);
    const d = tok(c.dimsValue);
    if (dims && d) b.member(input, path, 'dims', numberOf(d), b.tokenSpan(dims), b.tokenSpan(d), "'dims'");
    const normalize = tok(c.Normalize);
    const how = nameOf(c.normalize?.[0]);
    if (normalize && how)
      b.member(input, path, 'normalize', how.text, b.tokenSpan(normalize), b.tokenSpan(how.token), "'normalize'");
    const size = tok(c.Size);
    const literal = tok(c.SizeLiteral) ?? tok(c.Any);
    if (!size || !literal) continue;
    const s = b.tokenSpan(literal);
    const value: JsonValue = literal.tokenType.name === 'SizeLiteral' ? sizeOf(literal) : literal.image;
    if (b.member(input, path, 'size', value, b.tokenSpan(size), s, "'size'") && Array.isArray(value))
      sizeSpans(b, childPath(path, 'size'), s);
  }
}

function visitOutput(b: DocBuilder, node: OutputStatementCstNode): void {
  const keyword = tok(node.children.Output);
  if (!keyword) return;
  const path = b.claim(b.root, '', 'output', b.tokenSpan(keyword), "statement 'output'");
  if (path === undefined) return;
  const output: MutableObject = {};
  b.set(b.root, path, 'output', output, b.range(node));
  for (const item of node.children.outputItem ?? []) {
    const c = item.children;
    const classes = tok(c.Classes);
    const n = tok(c.classes);
    if (classes && n) b.member(output, path, 'classes', numberOf(n), b.tokenSpan(classes), b.tokenSpan(n), "'classes'");
    const threshold = tok(c.Threshold);
    const t = tok(c.threshold);
    if (threshold && t)
      b.member(output, path, 'threshold', numberOf(t), b.tokenSpan(threshold), b.tokenSpan(t), "'threshold'");
    const from = tok(c.From);
    const f = nameOf(c.from?.[0]);
    if (from && f) b.member(output, path, 'from', f.text, b.tokenSpan(from), b.tokenSpan(f.token), "'from'");
    const instances = tok(c.Instances);
    const i = nameOf(c.instances?.[0]);
    if (instances && i)
      b.member(output, path, 'instances', i.text, b.tokenSpan(instances), b.tokenSpan(i.token), "'instances'");
    const split = tok(c.Split);
    const obj = c.split?.[0];
    const splitPath = split && obj ? b.claim(output, path, 'split', b.tokenSpan(split), "'split'") : undefined;
    if (splitPath !== undefined && obj) b.set(output, splitPath, 'split', objectOf(b, obj, splitPath), b.range(obj));
    const activation = nameOf(c.activation?.[0]);
    if (activation) {
      const s = b.tokenSpan(activation.token);
      b.member(output, path, 'activation', activation.text, s, s, `activation given twice ('${activation.text}')`);
    }
    const names = tok(c.Names);
    const strings = c.StringLiteral ?? [];
    const first = strings[0];
    const last = strings[strings.length - 1];
    if (!names || !first || !last) continue;
    const namesPath = b.claim(output, path, 'class_names', b.tokenSpan(names), "'names'");
    if (namesPath === undefined) continue;
    b.set(
      output,
      namesPath,
      'class_names',
      strings.map((s) => unquote(s.image)),
      b.range(first, last),
    );
    strings.forEach((s, i) => b.spans.set(childPath(namesPath, i), b.tokenSpan(s)));
  }
}

function visitFilters(b: DocBuilder, node: FiltersStatementCstNode): void {
  const c = node.children;
  const keyword = tok(c.Filters);
  if (!keyword) return;
  const net = network(b, node, c.Filters);
  const path = b.claim(net, '/network', 'filters', b.tokenSpan(keyword), "statement 'filters'");
  if (path === undefined) return;
  const list = c.filters ?? [];
  const first = list[0];
  const last = list[list.length - 1];
  if (first && last) {
    b.set(net, path, 'filters', list.map(numberOf), b.range(first, last));
    list.forEach((n, i) => b.spans.set(childPath(path, i), b.tokenSpan(n)));
    return;
  }
  const base = tok(c.Base);
  const baseValue = tok(c.base);
  if (!base || !baseValue) return;
  const filters: MutableObject = {};
  const growth = tok(c.Growth);
  const growthValue = tok(c.growth);
  b.set(net, path, 'filters', filters, b.range(base, growthValue ?? baseValue));
  b.member(filters, path, 'base', numberOf(baseValue), b.tokenSpan(base), b.tokenSpan(baseValue), "'base'");
  if (growth && growthValue)
    b.member(filters, path, 'growth', numberOf(growthValue), b.tokenSpan(growth), b.tokenSpan(growthValue), "'growth'");
}

/** `node NAME = OP(INPUTS) { ... }`: appends to `graph`. */
function visitNode(b: DocBuilder, node: NodeStatementCstNode): void {
  const c = node.children;
  const keyword = tok(c.Node);
  const name = nameOf(c.nameValue?.[0]);
  const op = nameOf(c.op?.[0]);
  if (!keyword || !name || !op) return;
  let graph = b.root.graph;
  if (!Array.isArray(graph)) {
    graph = [];
    b.keySpans.set('/graph', b.tokenSpan(keyword));
    b.set(b.root, '/graph', 'graph', graph, b.range(node));
  }
  const items = graph as JsonValue[];
  const path = childPath('/graph', items.length);
  const obj: MutableObject = {};
  items.push(obj);
  b.spans.set(path, b.range(node));
  b.member(obj, path, 'name', name.text, b.tokenSpan(name.token), b.tokenSpan(name.token), "'name'");
  b.member(obj, path, 'op', op.text, b.tokenSpan(op.token), b.tokenSpan(op.token), "'op'");
  const inputs = c.nodeInputs?.[0];
  if (inputs) {
    const s = b.range(inputs);
    const names = (inputs.children.nameValue ?? []).map((n) => nameOf(n)).filter((n) => n !== undefined);
    b.member(
      obj,
      path,
      'inputs',
      names.map((n) => n.text),
      s,
      s,
      "'inputs'",
    );
    names.forEach((n, i) => b.spans.set(childPath(childPath(path, 'inputs'), i), b.tokenSpan(n.token)));
  }
  const props = c.object?.[0];
  if (props) objectOf(b, props, path, obj);
}
