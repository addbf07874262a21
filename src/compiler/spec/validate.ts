import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { Codes, didYouMean, error, MAX_DIAGNOSTICS, orList, printable, type Diagnostic } from '../diagnostics/index.js';
import { blockNames } from './model.js';
import { keySpan, pointerParts, valueSpan, type JsonValue, type SpecDocument } from './document.js';

type Schema = Record<string, unknown>;

/** The shipped JSON Schema (also what editors use through the yaml-language-server modeline). */
export const specSchema: Schema = JSON.parse(
  readFileSync(new URL('../../../schema/unetc.schema.json', import.meta.url), 'utf8'),
) as Schema;

/**
 * The schema with every local $ref replaced by its definition (the schema has no recursion).
 * ajv reports errors inside a $ref by the definition's path, which would hide which oneOf
 * branch an error belongs to; inlined, every error's schemaPath runs through its branch.
 */
function inlineRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(inlineRefs);
  if (node === null || typeof node !== 'object') return node;
  const obj = node as Schema;
  if (typeof obj.$ref === 'string') return inlineRefs(resolve(obj));
  return Object.fromEntries(
    Object.entries(obj)
      .filter(([k]) => k !== 'definitions')
      .map(([k, v]) => [k, inlineRefs(v)]),
  );
}

let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, verbose: true, strict: false }).compile(inlineRefs(specSchema) as Schema);
  return compiled;
}

/** Validates a document against the schema; every error becomes a located diagnostic. */
export function validateSchema(doc: SpecDocument): Diagnostic[] {
  const validate = validator();
  if (validate(doc.value)) return [];
  // A file with 100,000 unknown keys must not take the checker down: a few hundred are plenty.
  const errors = withoutMisspeltRequired(selectErrors((validate.errors ?? []).slice(0, 20 * MAX_DIAGNOSTICS)));
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const e of errors) {
    const d = translate(doc, e);
    if (!d) continue;
    const key = `${d.code}|${d.span?.start}|${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}

/**
 * `filtres: [...]` is one mistake, not two: when an unknown key is a near miss of a missing
 * required key of the same mapping, only the unknown key (with its did-you-mean) is reported.
 */
function withoutMisspeltRequired(errors: (ErrorObject | OneOfMismatch)[]): (ErrorObject | OneOfMismatch)[] {
  const misspelt = new Set<string>();
  for (const e of errors) {
    if ('error' in e || e.keyword !== 'additionalProperties') continue;
    const allowed = Object.keys(((e.parentSchema as Schema | undefined)?.properties as Schema | undefined) ?? {});
    const meant = didYouMean(String((e.params as Record<string, unknown>).additionalProperty), allowed);
    if (meant) misspelt.add(`${e.instancePath}/${meant}`);
  }
  return errors.filter(
    (e) =>
      'error' in e ||
      e.keyword !== 'required' ||
      !misspelt.has(`${e.instancePath}/${String((e.params as Record<string, unknown>).missingProperty)}`),
  );
}

/** A oneOf whose branches all failed on the value's type: reported as one "expected X or Y". */
interface OneOfMismatch {
  readonly keyword: 'oneOf-type';
  readonly error: ErrorObject;
}

/**
 * ajv reports every failing branch of a oneOf. Keep only the branch that matches the value's
 * type (its errors are the useful ones); when none does, report a single type error.
 * `if` errors only say that a `then` failed, whose own errors are kept.
 */
function selectErrors(errors: readonly ErrorObject[]): (ErrorObject | OneOfMismatch)[] {
  const oneOfs = errors.filter((e) => e.keyword === 'oneOf').sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  let remaining: (ErrorObject | OneOfMismatch)[] = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'if');
  for (const o of oneOfs) {
    const prefix = `${o.schemaPath}/`;
    const inside = remaining.filter((e): e is ErrorObject => !('error' in e) && e.schemaPath.startsWith(prefix));
    if (inside.length === 0 && (o.params as { passingSchemas?: unknown }).passingSchemas != null) continue;
    remaining = remaining.filter((e) => !inside.includes(e as ErrorObject));
    const branches = new Map<number, ErrorObject[]>();
    for (const e of inside) {
      const branch = Number(e.schemaPath.slice(prefix.length).split('/')[0]);
      branches.set(branch, [...(branches.get(branch) ?? []), e]);
    }
    const fits = [...branches.entries()].filter(
      ([, errs]) =>
        !errs.some((e) => e.instancePath === o.instancePath && (e.keyword === 'type' || e.keyword === 'const')),
    );
    if (fits.length > 0) remaining = remaining.concat(fits[0]![1]);
    else remaining.push({ keyword: 'oneOf-type', error: o });
  }
  return remaining;
}

function translate(doc: SpecDocument, e: ErrorObject | OneOfMismatch): Diagnostic | undefined {
  if ('error' in e) {
    const o = e.error;
    const branches = (o.schema as Schema[]).map((b) => describeSchema(resolve(b)));
    return error(
      Codes.wrongType,
      `${label(o.instancePath)} must be ${branches.join(' or ')}, found ${describeValue(o.data as JsonValue)}`,
      valueSpan(doc, o.instancePath),
    );
  }
  const path = e.instancePath;
  const where = valueSpan(doc, path);
  const params = e.params as Record<string, unknown>;
  const parent = (e.parentSchema ?? {}) as Schema;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const allowed = Object.keys((parent.properties as Schema | undefined) ?? {});
      const at = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      const suggestion = didYouMean(key, allowed);
      const notes = allowed.length > 0 && !suggestion ? [`expected one of ${orList(allowed)}`] : [];
      return error(
        Codes.unknownKey,
        `unknown key '${printable(key)}'${path ? ` in ${label(path)}` : ''}`,
        keySpan(doc, at),
        notes,
        suggestion,
      );
    }
    case 'propertyNames':
      return undefined; // reported through the `pattern` error on the name itself
    case 'required': {
      const key = String(params.missingProperty);
      const op = nodeOp(doc, path);
      return error(
        Codes.missingKey,
        `missing key '${key}' in ${path ? label(path) : 'the spec'}${op ? ` (a ${op} node)` : ''}`,
        path ? keySpan(doc, path) : where,
      );
    }
    case 'type':
      return error(
        Codes.wrongType,
        `${label(path)} must be ${article(String(params.type))}, found ${describeValue(e.data as JsonValue)}`,
        where,
      );
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const bound = {
        minimum: 'at least',
        maximum: 'at most',
        exclusiveMinimum: 'greater than',
        exclusiveMaximum: 'less than',
      }[e.keyword];
      return error(
        Codes.outOfRange,
        `${label(path)} must be ${bound} ${String(params.limit)}, found ${describeValue(e.data as JsonValue)}`,
        where,
      );
    }
    case 'enum':
    case 'const': {
      const allowed = (e.keyword === 'enum' ? (params.allowedValues as unknown[]) : [params.allowedValue]).map(String);
      const found = e.data as JsonValue;
      const suggestion = typeof found === 'string' ? didYouMean(found, allowed) : undefined;
      const raw = e.keyword === 'enum' ? (params.allowedValues as unknown[]) : [params.allowedValue];
      // Numbers read as numbers (`2 or 3`), words quoted (`'maxpool' or 'avgpool'`).
      const choices = raw.every((v) => typeof v === 'number')
        ? `${allowed.slice(0, -1).join(', ')}${allowed.length > 1 ? ' or ' : ''}${allowed[allowed.length - 1]}`
        : orList(allowed);
      return error(
        Codes.notAllowed,
        `${label(path)} must be ${choices}, found ${describeValue(found)}`,
        where,
        [],
        suggestion,
      );
    }
    case 'minItems':
    case 'maxItems': {
      const n = Array.isArray(e.data) ? e.data.length : 0;
      const limit = Number(params.limit);
      const exact = parent.minItems === parent.maxItems;
      const need = exact ? `exactly ${limit}` : e.keyword === 'minItems' ? `at least ${limit}` : `at most ${limit}`;
      return error(
        Codes.badLength,
        `${label(path)} must have ${need} item${limit === 1 ? '' : 's'}, found ${n}`,
        where,
      );
    }
    case 'minProperties':
      return error(Codes.badLength, `${label(path)} is empty: give at least one key`, where);
    case 'minLength':
      return error(Codes.badLength, `${label(path)} must not be empty`, where);
    case 'maxLength':
      return error(Codes.badLength, `${label(path)} must be at most ${String(params.limit)} characters long`, where);
    case 'pattern': {
      if (params.propertyName !== undefined || e.propertyName !== undefined) {
        const name = String(e.propertyName ?? params.propertyName);
        const at = `${path}/${name}`;
        const depth = (doc.value as { network?: { depth?: unknown } }).network?.depth;
        const suggestion = typeof depth === 'number' ? didYouMean(name, blockNames(depth)) : undefined;
        return error(
          Codes.unknownBlock,
          `unknown block '${printable(name)}' in ${label(path)}`,
          keySpan(doc, at),
          ['blocks are named enc1..encN, bottleneck and dec1..decN, where N is the depth'],
          suggestion,
        );
      }
      return error(Codes.badName, `${label(path)} ${describeValue(e.data as JsonValue)} is not a valid name`, where, [
        'use a letter or _ first, then letters, digits, _ (and - or . in model names)',
      ]);
    }
    default:
      return error(Codes.wrongType, `${label(path)}: ${e.message ?? 'is invalid'}`, where);
  }
}

/** 'network.filters[2]' for '/network/filters/2'. */
export function label(path: string): string {
  let out = '';
  for (const p of pointerParts(path)) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out || 'the spec';
}

function nodeOp(doc: SpecDocument, path: string): string | undefined {
  const parts = pointerParts(path);
  if (parts[0] !== 'graph' || parts.length !== 2) return undefined;
  const v = doc.value as { graph?: { op?: unknown }[] };
  const op = v.graph?.[Number(parts[1])]?.op;
  return typeof op === 'string' ? op : undefined;
}

function resolve(schema: Schema): Schema {
  const ref = schema.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/definitions/')) return schema;
  const defs = specSchema.definitions as Record<string, Schema>;
  return resolve(defs[ref.slice('#/definitions/'.length)] ?? {});
}

function describeSchema(s: Schema): string {
  if ('const' in s) return `'${String(s.const)}'`;
  if (s.type === 'array') {
    const lo = s.minItems as number | undefined;
    const hi = s.maxItems as number | undefined;
    const n =
      lo === undefined || hi === undefined
        ? ''
        : lo === hi
          ? `${lo} `
          : hi === lo + 1
            ? `${lo} or ${hi} `
            : `${lo} to ${hi} `;
    const items = resolve((s.items as Schema | undefined) ?? {});
    return `a list of ${n}${items.type === 'integer' ? 'integers' : items.type === 'number' ? 'numbers' : 'values'}`;
  }
  if (s.type === 'object') return 'a mapping';
  if (typeof s.type === 'string') return article(s.type);
  return 'a value';
}

function article(type: string): string {
  const names: Record<string, string> = {
    integer: 'an integer',
    number: 'a number',
    string: 'a string',
    boolean: 'true or false',
    array: 'a list',
    object: 'a mapping',
    null: 'nothing',
  };
  return names[type] ?? type;
}

/** How a found value is quoted in messages. */
export function describeValue(v: JsonValue): string {
  if (v === null) return 'nothing';
  if (typeof v === 'string') {
    const shown = v.length > 40 ? `${v.slice(0, 37)}...` : v;
    // Control characters are shown escaped: a message must not drive the terminal.
    return `'${printable(shown)}'`;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `a list of ${v.length}`;
  return 'a mapping';
}
