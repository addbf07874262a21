/**
 * The tokens of the unetc DSL (grammar/DSL.md), as Chevrotain token types.
 *
 * Keywords are reserved only where a statement starts; everywhere else they are plain names. The
 * grammar expresses this with token categories rather than by re-lexing:
 * - `Name` matches every word (identifiers and all keywords): keys, values, block and node names;
 * - `PlainName` matches identifiers and the keywords that never start a statement: the places
 *   where a statement keyword would end the current statement (an output activation, `down NAME`);
 * - `StatementKeyword` groups the keywords that start a statement (for messages and did-you-mean).
 * Each keyword has `longer_alt: Identifier`, so `blocks` or `conv-transpose` lex as identifiers.
 */
import { createToken, Lexer, type TokenType } from 'chevrotain';

/** Every word: identifiers and keywords of both kinds. */
export const Name = createToken({ name: 'Name', pattern: Lexer.NA, label: 'a name' });
/** Identifiers and keywords that never start a statement. */
export const PlainName = createToken({ name: 'PlainName', pattern: Lexer.NA, categories: [Name], label: 'a name' });
/** Keywords that start a statement. */
export const StatementKeyword = createToken({
  name: 'StatementKeyword',
  pattern: Lexer.NA,
  categories: [Name],
  label: 'a statement',
});
/**
 * Tokens an unknown statement may swallow besides plain names and brackets, so that the parser
 * skips `dephth 4` as one unknown statement instead of reporting every token after it.
 */
export const Loose = createToken({ name: 'Loose', pattern: Lexer.NA, label: 'a value' });

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n\uFEFF]+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: 'Comment', pattern: /(?:#|\/\/)[^\r\n]*/, group: Lexer.SKIPPED });

/**
 * A string, terminated or not: an unterminated one (or one with an unknown escape) still lexes as
 * a string so the parser carries on, and `checkStrings` reports it (E102).
 */
export const StringLiteral = createToken({
  name: 'StringLiteral',
  pattern: /"(?:[^"\\\r\n]|\\[^\r\n]?)*"?/,
  categories: [Loose],
  label: 'a string',
});
/** `3x3`, `256x256`, `32x64x64` (3D): before NumberLiteral, which would take the leading digits. */
export const SizeLiteral = createToken({
  name: 'SizeLiteral',
  pattern: /\d+x\d+(?:x\d+)?/,
  categories: [Loose],
  label: 'a size such as 3x3',
});
export const NumberLiteral = createToken({
  name: 'NumberLiteral',
  pattern: /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/,
  categories: [Loose],
  label: 'a number',
});
export const Arrow = createToken({ name: 'Arrow', pattern: /->/, categories: [Loose], label: "'->'" });

/** Inner hyphens must be followed by a letter or digit, so `relu->batchnorm` is three tokens. */
export const Identifier = createToken({
  name: 'Identifier',
  pattern: /[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9][A-Za-z0-9_]*)*/,
  categories: [PlainName],
  label: 'a name',
});

const keywords: TokenType[] = [];
/** The words that start a statement, for did-you-mean on an unknown one. */
export const statementWords: string[] = [];

function keyword(name: string, word: string, category: TokenType): TokenType {
  const t = createToken({
    name,
    pattern: new RegExp(word.replace(/-/g, '\\-')),
    longer_alt: Identifier,
    categories: [category],
    label: `'${word}'`,
  });
  keywords.push(t);
  return t;
}

function statement(name: string, word: string): TokenType {
  statementWords.push(word);
  return keyword(name, word, StatementKeyword);
}

// The header keyword is a Name but neither a statement nor a plain name: `unet` inside the body is an error.
export const Unet = keyword('Unet', 'unet', Name);

export const Version = statement('Version', 'version');
export const Description = statement('Description', 'description');
export const Input = statement('Input', 'input');
export const Output = statement('Output', 'output');
export const Depth = statement('Depth', 'depth');
export const Filters = statement('Filters', 'filters');
export const Bottleneck = statement('Bottleneck', 'bottleneck');
export const Block = statement('Block', 'block');
export const Down = statement('Down', 'down');
export const Up = statement('Up', 'up');
export const Skip = statement('Skip', 'skip');
export const Attention = statement('Attention', 'attention');
export const DeepSupervision = statement('DeepSupervision', 'deep-supervision');
export const Pool = statement('Pool', 'pool');
export const Train = statement('Train', 'train');
export const Node = statement('Node', 'node');

export const Channels = keyword('Channels', 'channels', PlainName);
export const Size = keyword('Size', 'size', PlainName);
export const Dims = keyword('Dims', 'dims', PlainName);
export const Normalize = keyword('Normalize', 'normalize', PlainName);
export const Any = keyword('Any', 'any', PlainName);
export const Classes = keyword('Classes', 'classes', PlainName);
export const Names = keyword('Names', 'names', PlainName);
export const Threshold = keyword('Threshold', 'threshold', PlainName);
export const From = keyword('From', 'from', PlainName);
export const Instances = keyword('Instances', 'instances', PlainName);
export const Split = keyword('Split', 'split', PlainName);
export const Base = keyword('Base', 'base', PlainName);
export const Growth = keyword('Growth', 'growth', PlainName);
export const X = keyword('X', 'x', PlainName);
export const Conv = keyword('Conv', 'conv', PlainName);
export const LeakyRelu = keyword('LeakyRelu', 'leaky-relu', PlainName);
export const Batchnorm = keyword('Batchnorm', 'batchnorm', PlainName);
export const Dropout = keyword('Dropout', 'dropout', PlainName);
export const Same = keyword('Same', 'same', PlainName);
export const Valid = keyword('Valid', 'valid', PlainName);
export const Bias = keyword('Bias', 'bias', PlainName);
export const Nobias = keyword('Nobias', 'nobias', PlainName);
export const Epsilon = keyword('Epsilon', 'epsilon', PlainName);
export const Momentum = keyword('Momentum', 'momentum', PlainName);

export const LCurly = createToken({ name: 'LCurly', pattern: /{/, label: "'{'" });
export const RCurly = createToken({ name: 'RCurly', pattern: /}/, label: "'}'" });
export const LBracket = createToken({ name: 'LBracket', pattern: /\[/, label: "'['" });
export const RBracket = createToken({ name: 'RBracket', pattern: /]/, label: "']'" });
export const LParen = createToken({ name: 'LParen', pattern: /\(/, categories: [Loose], label: "'('" });
export const RParen = createToken({ name: 'RParen', pattern: /\)/, categories: [Loose], label: "')'" });
export const Comma = createToken({ name: 'Comma', pattern: /,/, categories: [Loose], label: "','" });
export const Equals = createToken({ name: 'Equals', pattern: /=/, categories: [Loose], label: "'='" });

/** Every token type, in lexing order: literals before keywords, keywords before identifiers. */
export const allTokens: TokenType[] = [
  WhiteSpace,
  Comment,
  StringLiteral,
  SizeLiteral,
  NumberLiteral,
  Arrow,
  ...keywords,
  Identifier,
  LCurly,
  RCurly,
  LBracket,
  RBracket,
  LParen,
  RParen,
  Comma,
  Equals,
  Name,
  PlainName,
  StatementKeyword,
  Loose,
];

/** The one lexer instance (lexers are stateless between `tokenize` calls). */
export const dslLexer = new Lexer(allTokens, { positionTracking: 'full', ensureOptimizations: false });
