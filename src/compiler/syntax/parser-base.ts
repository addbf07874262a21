/**
 * The shared leaf rules of the DSL grammar: names, generic values and properties, dropout rates,
 * and the skipping of unknown statements. `DslParser` (parser.ts) adds the statements on top;
 * splitting the class keeps each file readable, and Chevrotain records inherited rules as its own.
 */
import { CstParser, tokenMatcher, type TokenType } from 'chevrotain';
import { MessageProvider } from './messages.js';
import * as T from './tokens.js';

/** The one message provider; `parseDsl` hands it the tokens before each parse. */
export const messages = new MessageProvider();

/** Leaf rules; abstract in spirit: only `DslParser` is instantiated (it runs the self-analysis). */
export class BaseRules extends CstParser {
  constructor() {
    super(T.allTokens, {
      recoveryEnabled: true,
      nodeLocationTracking: 'full',
      errorMessageProvider: messages,
      maxLookahead: 1,
    });
  }

  /**
   * Recovery prefers dropping one stray token when the token after it is the one expected
   * (`[conv 3x3 foo]`): inserting the missing token instead would resume at `foo`, which then reads
   * as an unknown statement and cascades.
   */
  protected override canTokenTypeBeInsertedInRecovery(tokType: TokenType): boolean {
    return !tokenMatcher(this.LA(2), tokType);
  }

  /** A name written as a word (keywords included) or a string. */
  nameValue = this.RULE('nameValue', () => {
    this.OR({
      ERR_MSG: 'a name or a string',
      DEF: [{ ALT: () => this.CONSUME(T.Name) }, { ALT: () => this.CONSUME(T.StringLiteral) }],
    });
  });

  /** A name where a statement keyword would end the statement instead (`down NAME`, activations). */
  plainValue = this.RULE('plainValue', () => {
    this.OR({
      ERR_MSG: 'a name or a string',
      DEF: [{ ALT: () => this.CONSUME(T.PlainName) }, { ALT: () => this.CONSUME(T.StringLiteral) }],
    });
  });

  /** A dropout rate, or one per level. */
  rate = this.RULE('rate', () => {
    this.OR([{ ALT: () => this.CONSUME(T.NumberLiteral) }, { ALT: () => this.SUBRULE(this.numberList) }]);
  });

  numberList = this.RULE('numberList', () => {
    this.CONSUME(T.LBracket);
    this.MANY(() => {
      this.CONSUME(T.NumberLiteral);
      this.OPTION(() => this.CONSUME(T.Comma));
    });
    this.CONSUME(T.RBracket);
  });

  /** Generic properties `{ KEY VALUE ... }`. */
  object = this.RULE('object', () => {
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.property));
    this.CONSUME(T.RCurly);
  });

  property = this.RULE('property', () => {
    this.SUBRULE(this.nameValue, { LABEL: 'key' });
    this.SUBRULE(this.value);
  });

  value = this.RULE('value', () => {
    this.OR({
      ERR_MSG: 'a value',
      DEF: [
        { ALT: () => this.CONSUME(T.NumberLiteral) },
        { ALT: () => this.CONSUME(T.SizeLiteral) },
        { ALT: () => this.CONSUME(T.StringLiteral) },
        { ALT: () => this.CONSUME(T.Name) },
        { ALT: () => this.SUBRULE(this.list) },
        { ALT: () => this.SUBRULE(this.object) },
      ],
    });
  });

  /** `[v v ...]`, commas optional. */
  list = this.RULE('list', () => {
    this.CONSUME(T.LBracket);
    this.MANY(() => {
      this.SUBRULE(this.value);
      this.OPTION(() => this.CONSUME(T.Comma));
    });
    this.CONSUME(T.RBracket);
  });

  /**
   * A word at a statement start that is no statement keyword, with what follows it up to the next
   * statement: reported once (E104, with a did-you-mean) instead of once per token.
   */
  unknownStatement = this.RULE('unknownStatement', () => {
    this.CONSUME(T.PlainName);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.CONSUME(T.Loose) },
        { ALT: () => this.CONSUME2(T.PlainName) },
        { ALT: () => this.SUBRULE(this.skipped) },
      ]),
    );
  });

  /** A bracketed group inside an unknown statement, skipped whole (statement keywords included). */
  skipped = this.RULE('skipped', () => {
    this.OR2([
      {
        ALT: () => {
          this.CONSUME(T.LBracket);
          this.MANY(() =>
            this.OR([
              { ALT: () => this.CONSUME(T.Loose) },
              { ALT: () => this.CONSUME(T.Name) },
              { ALT: () => this.SUBRULE(this.skipped) },
            ]),
          );
          this.CONSUME(T.RBracket);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.LCurly);
          this.MANY2(() =>
            this.OR3([
              { ALT: () => this.CONSUME2(T.Loose) },
              { ALT: () => this.CONSUME2(T.Name) },
              { ALT: () => this.SUBRULE2(this.skipped) },
            ]),
          );
          this.CONSUME(T.RCurly);
        },
      },
    ]);
  });
}
