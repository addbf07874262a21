/**
 * The input sizes a network accepts along one axis, as a rule that answers "the smallest valid
 * size at least n" and "the largest at most n". Built from the compiled graph (exact) or from an
 * exported model's `valid_sizes` metadata text ("multiples of 16", "188 + 16k (...)", ...).
 */

/** Valid sizes along one axis. */
export interface SizeRule {
  /** The smallest valid size >= n, or undefined when there is none. */
  atLeast(n: number): number | undefined;
  /** The largest valid size <= n, or undefined when there is none. */
  atMost(n: number): number | undefined;
  /** In the words of `unetc check`: "multiples of 16", "only 256", ... */
  readonly text: string;
  /**
   * The step between valid sizes (0 when only one size is valid). Pooling makes a U-Net
   * equivariant only to shifts by this step (2^depth), so tiles are placed on its grid.
   */
  readonly step: number;
}

/** first, first + step, first + 2 step, ... (step 0: only `first`). */
export function progression(first: number, step: number, text = describe(first, step)): SizeRule {
  if (!(Number.isInteger(first) && first >= 1 && Number.isInteger(step) && step >= 0))
    throw new RangeError(`progression: bad first ${first} or step ${step}`);
  return {
    text,
    step,
    atLeast: (n) => (n <= first ? first : step === 0 ? undefined : first + Math.ceil((n - first) / step) * step),
    atMost: (n) => (n < first ? undefined : step === 0 ? first : first + Math.floor((n - first) / step) * step),
  };
}

function describe(first: number, step: number): string {
  if (step === 0) return `only ${first}`;
  if (first === 1 && step === 1) return 'any';
  if (first === step) return `multiples of ${step}`;
  return step === 1 ? `${first} or more` : `${first} + ${step}k`;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * A rule from an explicit sorted list (e.g. `validSizes(graph, axis)` up to its search limit).
 * A regular list becomes a progression that goes on past the list's end (the network's sizes do:
 * the list only stops where the search stopped); an irregular one is taken as it is, continued
 * past its last entry by `thenStep` when given.
 */
export function fromList(sizes: readonly number[], thenStep?: number): SizeRule {
  const sorted = [...new Set(sizes)].sort((a, b) => a - b);
  const first = sorted[0];
  if (first === undefined) throw new RangeError('fromList: no sizes');
  let step = 0;
  for (const s of sorted) step = gcd(step, s - first);
  const regular = sorted.length > 1 && sorted.every((s, i) => s === first + i * step);
  if (sorted.length === 1) return progression(first, 0);
  if (regular) return progression(first, step);
  const last = sorted[sorted.length - 1]!;
  const tail = thenStep !== undefined && thenStep > 0 ? progression(last, thenStep) : undefined;
  return {
    text: `${sorted.slice(0, 6).join(', ')}${tail ? ', ...' : ''}`,
    step,
    atLeast: (n) => sorted.find((s) => s >= n) ?? tail?.atLeast(n),
    atMost: (n) => (n >= last && tail ? tail.atMost(n) : [...sorted].reverse().find((s) => s <= n)),
  };
}

/**
 * Parses one axis of `valid_sizes` (see `describeSizes` in the compiler); `divisor` (the
 * `spatial_divisor` for this axis) continues a truncated irregular list. Undefined when the text
 * is not in a known form.
 */
export function parseSizeText(text: string, divisor?: number): SizeRule | undefined {
  const t = text.trim();
  let m: RegExpExecArray | null;
  if (t === 'any') return progression(1, 1, t);
  if ((m = /^multiples of (\d+)$/.exec(t))) return progression(Number(m[1]), Number(m[1]), t);
  if ((m = /^(\d+) or more$/.exec(t))) return progression(Number(m[1]), 1, t);
  if ((m = /^(\d+) \+ (\d+)k\b/.exec(t))) return progression(Number(m[1]), Number(m[2]), t);
  if ((m = /^only (\d+)$/.exec(t))) return progression(Number(m[1]), 0, t);
  if (/^\d+(, \d+)*(, \.\.\.)?$/.test(t)) {
    const list = t
      .split(', ')
      .filter((s) => s !== '...')
      .map(Number);
    return fromList(list, t.endsWith('...') ? divisor : undefined);
  }
  return undefined;
}

/**
 * Both axes from the metadata: `valid_sizes` is one description for both or
 * `height: ...; width: ...`; `spatial_divisor` is `16` or `16x8`. Undefined when unreadable.
 */
export function parseValidSizes(
  validSizes: string,
  spatialDivisor?: string,
): { height: SizeRule; width: SizeRule } | undefined {
  const d = (spatialDivisor ?? '').split('x').map((s) => Number(s));
  const [dh, dw] = [d[0], d[1] ?? d[0]].map((v) => (v !== undefined && Number.isInteger(v) && v > 0 ? v : undefined));
  const split = /^height: (.*); width: (.*)$/.exec(validSizes.trim());
  const height = parseSizeText(split ? split[1]! : validSizes, dh);
  const width = parseSizeText(split ? split[2]! : validSizes, dw);
  return height && width ? { height, width } : undefined;
}
