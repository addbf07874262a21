/**
 * Syntax error messages in the user's terms: what was expected, after what, and what was found
 * ("expected a number after 'depth', found '['"), never Chevrotain's lists of token type names.
 */
import { EOF, tokenMatcher, type IParserErrorMessageProvider, type IToken, type TokenType } from 'chevrotain';
import { RBracket, RCurly, RParen, StatementKeyword } from './tokens.js';

/**
 * What may stand before a closing bracket, by rule: when the closer does not fit, the user most
 * likely wrote a wrong item, so the message names both ("expected a key or '}'").
 */
const closers = new Map<string, string>([
  [`spec ${RCurly.name}`, "a statement or '}'"],
  [`object ${RCurly.name}`, "a key or '}'"],
  [`list ${RBracket.name}`, "a value or ']'"],
  [`numberList ${RBracket.name}`, "a number or ']'"],
  [`nodeInputs ${RParen.name}`, "a node name or ')'"],
  [`blockTemplate ${RBracket.name}`, "'->' or ']'"],
]);

/** How a token type reads in a message: its label ("a number", "'depth'"). */
export function describeType(t: TokenType): string {
  if (t === EOF) return 'the end of the file';
  return t.LABEL ?? t.name;
}

/** Several token types as one phrase; statement keywords collapse into "a statement". */
export function describeTypes(types: readonly TokenType[]): string {
  const words: string[] = [];
  for (const t of types) {
    const isStatement = t !== StatementKeyword && (t.CATEGORIES ?? []).includes(StatementKeyword);
    const w = isStatement ? 'a statement' : describeType(t);
    if (!words.includes(w)) words.push(w);
  }
  if (words.length <= 1) return words[0] ?? 'something else';
  return `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}

/** A token as found in the source, shortened so a runaway string does not flood the message. */
export function quoteToken(token: IToken | undefined): string {
  if (token === undefined || tokenMatcher(token, EOF)) return 'the end of the file';
  const image = token.image.length > 24 ? `${token.image.slice(0, 20)}...` : token.image;
  return `'${image}'`;
}

function after(previous: IToken | undefined): string {
  if (previous === undefined) return ' at the start of the file';
  return ` after ${quoteToken(previous)}`;
}

function firstTokens(paths: readonly (readonly TokenType[])[]): TokenType[] {
  const out: TokenType[] = [];
  for (const p of paths) if (p[0] !== undefined) out.push(p[0]);
  return out;
}

/**
 * The message provider handed to the parser. It finds the token before the offending one itself:
 * Chevrotain's `previous` is the last token skipped during recovery, not the one the user wrote
 * before the mistake.
 */
export class MessageProvider implements IParserErrorMessageProvider {
  /** The tokens being parsed; set before each parse. */
  tokens: readonly IToken[] = [];

  private before(actual: IToken | undefined): IToken | undefined {
    const tokens = this.tokens;
    if (actual === undefined || tokenMatcher(actual, EOF) || Number.isNaN(actual.startOffset))
      return tokens[tokens.length - 1];
    let lo = 0;
    let hi = tokens.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (tokens[mid]!.startOffset < actual.startOffset) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 ? tokens[lo - 1] : undefined;
  }

  buildMismatchTokenMessage(options: {
    expected: TokenType;
    actual: IToken;
    previous: IToken;
    ruleName: string;
  }): string {
    const { expected, actual, ruleName } = options;
    const closer = closers.get(`${ruleName} ${expected.name}`);
    // At the end of the file only the closer itself can still help.
    const what = closer !== undefined && !tokenMatcher(actual, EOF) ? closer : describeType(expected);
    return `expected ${what}${after(this.before(actual))}, found ${quoteToken(actual)}`;
  }

  buildNotAllInputParsedMessage(options: { firstRedundant: IToken; ruleName: string }): string {
    return `expected the end of the file after the closing '}', found ${quoteToken(options.firstRedundant)}`;
  }

  buildNoViableAltMessage(options: {
    expectedPathsPerAlt: TokenType[][][];
    actual: IToken[];
    previous: IToken;
    customUserDescription?: string;
    ruleName: string;
  }): string {
    const what =
      options.customUserDescription ?? describeTypes(options.expectedPathsPerAlt.flatMap((alt) => firstTokens(alt)));
    return `expected ${what}${after(this.before(options.actual[0]))}, found ${quoteToken(options.actual[0])}`;
  }

  buildEarlyExitMessage(options: {
    expectedIterationPaths: TokenType[][];
    actual: IToken[];
    previous: IToken;
    customUserDescription?: string;
    ruleName: string;
  }): string {
    const what = options.customUserDescription ?? describeTypes(firstTokens(options.expectedIterationPaths));
    return `expected ${what}${after(this.before(options.actual[0]))}, found ${quoteToken(options.actual[0])}`;
  }
}
