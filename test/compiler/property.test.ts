import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { compileSpec, printDsl, type Compiled, type JsonValue } from '../../src/compiler/index.js';
import { compileFile, shippedSpecs } from '../helpers.js';

/** How the mutated specs ended: the properties must exercise both outcomes to mean anything. */
const outcomes = { graph: 0, errors: 0 };

/** The compiler's contract: it never throws, and gives a checked graph exactly when there is no error. */
function expectTotal(name: string, body: string): Compiled {
  let c: Compiled | undefined;
  expect(() => (c = compileSpec({ name, body })), body).not.toThrow();
  const errors = c!.diagnostics.filter((d) => d.severity === 'error');
  expect(c!.graph === undefined, body).toBe(errors.length > 0);
  outcomes[c!.graph ? 'graph' : 'errors']++;
  for (const d of c!.diagnostics) {
    expect(d.message.length).toBeGreaterThan(0);
    if (d.span) expect(d.span.end).toBeLessThanOrEqual(body.length);
  }
  return c!;
}

const specs = shippedSpecs();
const texts = specs.map((f) => ({ file: f, body: compileFile(f).document!.source.body }));
const values = specs.map((f) => compileFile(f).document!.value);

/** Values that stress every validator and lowering path. */
const oddValue: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constantFrom<JsonValue>(
    0,
    -1,
    1,
    2,
    3,
    7,
    16,
    0.5,
    1.5,
    1e9,
    -0,
    null,
    true,
    false,
    '',
    'any',
    'same',
    'valid',
    'conv',
    'relu',
    'dropout',
    'enc1',
    'input',
    [],
    {},
    [3, 3],
    [0, 0],
    [1e6, 1],
    ['conv'],
    ['relu'],
    { base: 8 },
    { base: 0 },
  ),
  fc.integer({ min: -5, max: 5000 }),
  fc.double({ noNaN: false }),
  fc.string({ maxLength: 8 }),
  fc.array(fc.integer({ min: -2, max: 64 }), { maxLength: 6 }),
);

type Path = (string | number)[];
function paths(v: JsonValue, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

/** Returns a copy of `v` with the value at `path` replaced (or deleted when `replacement` is undefined). */
function mutate(v: JsonValue, path: Path, replacement: JsonValue | undefined): JsonValue {
  if (path.length === 0) return replacement ?? null;
  const [head, ...rest] = path;
  if (Array.isArray(v)) {
    const copy = [...v];
    if (rest.length === 0 && replacement === undefined) copy.splice(Number(head), 1);
    else copy[Number(head)] = mutate(copy[Number(head)]!, rest, replacement);
    return copy;
  }
  const copy: Record<string, JsonValue> = { ...(v as Record<string, JsonValue>) };
  if (rest.length === 0 && replacement === undefined) delete copy[String(head)];
  else copy[String(head)] = mutate(copy[String(head)]!, rest, replacement);
  return copy;
}

describe('the compiler is total on mutated specs', () => {
  it('structure-level: replace, delete or add a value anywhere, printed as YAML and as DSL', () => {
    fc.assert(
      fc.property(
        fc.nat(values.length - 1),
        fc.nat(),
        oddValue,
        fc.boolean(),
        fc.string({ minLength: 1, maxLength: 10 }),
        (which, pick, odd, del, newKey) => {
          const base = values[which]!;
          const all = paths(base);
          const path = all[pick % all.length]!;
          let mutated = mutate(base, path, del ? undefined : odd);
          // Sometimes add an unknown key beside the chosen one.
          if (pick % 7 === 0 && path.length > 0) mutated = mutate(mutated, [...path.slice(0, -1), newKey], odd);
          expectTotal('m.yaml', stringify(mutated));
          expectTotal('m.unet', printDsl(mutated));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('text-level: delete, insert, duplicate or swap pieces of the text', () => {
    const insertion = fc.oneof(
      fc.constantFrom(
        '-',
        ':',
        '[',
        ']',
        '{',
        '}',
        '#',
        '"',
        "'",
        '\t',
        '\n',
        ' ',
        '0',
        '99999',
        'x',
        '->',
        '&a',
        '*a',
        '!!str',
        '%',
      ),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(
        fc.nat(texts.length - 1),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 3 }),
        insertion,
        (which, a, b, kind, ins) => {
          const { file, body } = texts[which]!;
          const i = a % (body.length + 1);
          const j = Math.min(body.length, i + (b % 40));
          let text: string;
          if (kind === 0) text = body.slice(0, i) + body.slice(j);
          else if (kind === 1) text = body.slice(0, i) + ins + body.slice(i);
          else if (kind === 2) text = body.slice(0, j) + body.slice(i, j) + body.slice(j);
          else {
            const lines = body.split('\n');
            const x = a % lines.length;
            const y = b % lines.length;
            [lines[x], lines[y]] = [lines[y]!, lines[x]!];
            text = lines.join('\n');
          }
          expectTotal(file.endsWith('.unet') ? 'm.unet' : 'm.yaml', text);
        },
      ),
      { numRuns: 2500 },
    );
  });

  it('the mutations reach both outcomes: some still compile, many give diagnostics', () => {
    expect(outcomes.graph).toBeGreaterThan(100);
    expect(outcomes.errors).toBeGreaterThan(1000);
  });
});
