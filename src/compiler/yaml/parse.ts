import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import { Codes, error, span, type Diagnostic, type Result, type Source, type Span } from '../diagnostics/index.js';
import { pointer, type JsonValue, type SpecDocument } from '../spec/document.js';

/**
 * Parses a YAML spec into a SpecDocument, keeping the range of every key and value so that
 * schema and semantic errors point into the YAML text. Never throws.
 */
export function parseYaml(source: Source): Result<SpecDocument> {
  let doc: Document.Parsed;
  try {
    doc = parseDocument(source.body, { prettyErrors: false, uniqueKeys: true, lineCounter: new LineCounter() });
  } catch (e) {
    return {
      value: undefined,
      diagnostics: [error(Codes.yamlSyntax, `cannot parse YAML: ${String(e)}`, span(source, 0, 0))],
    };
  }
  // One malformed line often yields several parser errors at the same place: keep the first.
  const seenAt = new Set<number>();
  const errors = doc.errors.filter((e) => !seenAt.has(e.pos[0]) && seenAt.add(e.pos[0]));
  const diagnostics: Diagnostic[] = errors.map((e) => {
    const [start, end] = e.pos;
    const where = span(source, start, Math.max(end, start + 1));
    if (e.code === 'DUPLICATE_KEY') {
      const key = /^\s*("[^"]*"|'[^']*'|[^:\s]+)/.exec(source.body.slice(start, start + 200))?.[1] ?? '';
      return error(
        Codes.duplicateKey,
        key
          ? `key '${key.replace(/^["']|["']$/g, '')}' is given twice in this mapping`
          : 'a key is given twice in this mapping',
        where,
      );
    }
    return error(
      Codes.yamlSyntax,
      yamlMessage(e.message, e.code),
      where,
      yamlNotes[e.code] ? [yamlNotes[e.code]!] : [],
    );
  });
  if (diagnostics.length > 0) return { value: undefined, diagnostics };

  const spans = new Map<string, Span>();
  const keySpans = new Map<string, Span>();
  const walker = new Walker(source, doc, spans, keySpans);
  const value = doc.contents ? walker.walk(doc.contents as YamlNode, []) : null;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const where = doc.contents?.range ? span(source, doc.contents.range[0], doc.contents.range[1]) : span(source, 0, 0);
    return {
      value: undefined,
      diagnostics: [
        error(
          Codes.notAMapping,
          value === null
            ? 'the spec is empty'
            : 'the spec must be a mapping of keys (name, input, output, network, ...)',
          where,
        ),
      ],
    };
  }
  if (!spans.has('')) spans.set('', span(source, 0, 0));
  return { value: { source, format: 'yaml', value, spans, keySpans }, diagnostics: walker.diagnostics };
}

/** The yaml package's messages end with a location and a code frame of its own: keep the first sentence. */
function yamlMessage(message: string, code: string): string {
  if (code === 'MULTIPLE_DOCS')
    return "YAML syntax: a spec is one YAML document, but this file has a '---' separator and more after it";
  const first = message
    .split('\n')[0]!
    .replace(/ at line \d+, column \d+:?$/, '')
    .trim();
  return `YAML syntax: ${first.charAt(0).toLowerCase()}${first.slice(1)}`;
}

/** Hints for the YAML mistakes people make most. */
const yamlNotes: Partial<Record<string, string>> = {
  MULTILINE_IMPLICIT_KEY:
    "a key needs a colon and a space after it ('depth: 4'), and its value on the same line or indented below",
  BLOCK_IN_FLOW: 'inside [...] and {...}, separate items with commas: {channels: 1, size: any}',
  TAB_AS_INDENT: 'indent with spaces',
  BAD_INDENT: 'keys of one mapping line up in the same column',
  MISSING_CHAR: 'a bracket or quote is not closed',
};

/** More nodes than any spec needs: a file that expands past this through aliases is refused. */
const MAX_NODES = 100_000;

class Walker {
  readonly diagnostics: Diagnostic[] = [];
  private depth = 0;
  private nodes = 0;
  /** Set once the node budget is spent (an alias bomb); the value is then incomplete. */
  exhausted = false;

  constructor(
    private readonly source: Source,
    private readonly doc: Document.Parsed,
    private readonly spans: Map<string, Span>,
    private readonly keySpans: Map<string, Span>,
  ) {}

  walk(node: YamlNode, path: (string | number)[]): JsonValue {
    // Aliases may form cycles or expand exponentially ("billion laughs"): cap depth and size.
    if (++this.nodes > MAX_NODES) {
      if (!this.exhausted)
        this.diagnostics.push(
          error(
            Codes.yamlSyntax,
            `the spec expands to more than ${MAX_NODES} values (through aliases?); a spec needs far fewer`,
            span(this.source, node.range?.[0] ?? 0, node.range?.[1] ?? 0),
          ),
        );
      this.exhausted = true;
      return null;
    }
    if (++this.depth > 64) {
      this.depth--;
      return null;
    }
    try {
      return this.walkNode(node, path);
    } finally {
      this.depth--;
    }
  }

  private walkNode(node: YamlNode, path: (string | number)[]): JsonValue {
    const here = pointer(path);
    if (node.range) this.spans.set(here, span(this.source, node.range[0], node.range[1]));
    if (isAlias(node)) {
      const target = node.resolve(this.doc);
      const value = target ? this.walk(target as YamlNode, path) : null;
      // Errors in the value point at the alias (where it is used), not at its anchor.
      if (node.range) this.spans.set(here, span(this.source, node.range[0], node.range[1]));
      return value;
    }
    if (isScalar(node) && typeof node.value === 'number' && !Number.isFinite(node.value)) {
      this.diagnostics.push(
        error(Codes.wrongType, `${String(node.value)} is not a finite number`, this.spans.get(here)),
      );
      return 0;
    }
    if (isScalar(node)) return scalarValue(node.value);
    if (isSeq(node))
      return node.items.map((item, i) =>
        item && typeof item === 'object' ? this.walk(item as YamlNode, [...path, i]) : null,
      );
    if (isMap(node)) {
      const out: Record<string, JsonValue> = {};
      // defineProperty, not assignment: a key named __proto__ must stay a key (and be reported).
      const set = (key: string, value: JsonValue) =>
        Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key as YamlNode | null;
        const key = isScalar(keyNode) ? String(keyNode.value) : keyNode ? String(keyNode) : '';
        const childPath = [...path, key];
        const childPointer = pointer(childPath);
        if (keyNode?.range) this.keySpans.set(childPointer, span(this.source, keyNode.range[0], keyNode.range[1]));
        const valueNode = pair.value as YamlNode | null;
        if (valueNode && typeof valueNode === 'object') set(key, this.walk(valueNode, childPath));
        else {
          set(key, null);
          // `key:` with nothing after it: point at the key.
          const ks = this.keySpans.get(childPointer);
          if (ks) this.spans.set(childPointer, ks);
        }
      }
      return out;
    }
    return null;
  }
}

function scalarValue(v: unknown): JsonValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.toISOString();
  return String(v);
}
