/**
 * The grammar of the unetc DSL (grammar/DSL.md) as a Chevrotain CST parser: one reused instance,
 * error recovery on, full node locations for spans. The railroad diagram (grammar/railroad.html)
 * and the CST types (cst.d.ts) are generated from it by scripts/gen-grammar.ts.
 */
import { BaseRules } from './parser-base.js';
import type { TokenType } from 'chevrotain';
import * as T from './tokens.js';

const valueStarts: readonly TokenType[] = [
  T.NumberLiteral,
  T.SizeLiteral,
  T.StringLiteral,
  T.LBracket,
  T.LCurly,
  T.Equals,
];
const startsValue = (t: TokenType) => valueStarts.includes(t);
const outputKeywords: readonly TokenType[] = [T.Classes, T.Names, T.Threshold, T.From, T.Instances, T.Split];
const activations: readonly string[] = ['sigmoid', 'softmax', 'none'];

export { messages } from './parser-base.js';

/** The DSL parser. Rules are class properties so their CST types can be generated. */
export class DslParser extends BaseRules {
  constructor() {
    super();
    this.performSelfAnalysis();
  }

  /** `unet NAME { statement* }`: the whole file. */
  spec = this.RULE('spec', () => {
    this.CONSUME(T.Unet);
    this.SUBRULE(this.nameValue);
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.statement));
    this.CONSUME(T.RCurly);
  });

  statement = this.RULE('statement', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.versionStatement) },
      { ALT: () => this.SUBRULE(this.descriptionStatement) },
      { ALT: () => this.SUBRULE(this.inputStatement) },
      { ALT: () => this.SUBRULE(this.outputStatement) },
      { ALT: () => this.SUBRULE(this.depthStatement) },
      { ALT: () => this.SUBRULE(this.filtersStatement) },
      { ALT: () => this.SUBRULE(this.bottleneckStatement) },
      { ALT: () => this.SUBRULE(this.blockStatement) },
      { ALT: () => this.SUBRULE(this.downStatement) },
      { ALT: () => this.SUBRULE(this.upStatement) },
      { ALT: () => this.SUBRULE(this.skipStatement) },
      { ALT: () => this.SUBRULE(this.attentionStatement) },
      { ALT: () => this.SUBRULE(this.deepSupervisionStatement) },
      { ALT: () => this.SUBRULE(this.poolStatement) },
      { ALT: () => this.SUBRULE(this.trainStatement) },
      { ALT: () => this.SUBRULE(this.nodeStatement) },
      { ALT: () => this.SUBRULE(this.unknownStatement) },
    ]);
  });

  versionStatement = this.RULE('versionStatement', () => {
    this.CONSUME(T.Version);
    this.CONSUME(T.NumberLiteral);
  });

  descriptionStatement = this.RULE('descriptionStatement', () => {
    this.CONSUME(T.Description);
    this.CONSUME(T.StringLiteral);
  });

  inputStatement = this.RULE('inputStatement', () => {
    this.CONSUME(T.Input);
    this.AT_LEAST_ONE({
      ERR_MSG: "'channels', 'dims', 'size' or 'normalize'",
      DEF: () => this.SUBRULE(this.inputItem),
    });
  });

  inputItem = this.RULE('inputItem', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Channels);
          this.CONSUME(T.NumberLiteral);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Dims);
          this.CONSUME2(T.NumberLiteral, { LABEL: 'dimsValue' });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Normalize);
          this.SUBRULE(this.plainValue, { LABEL: 'normalize' });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Size);
          this.OR2({
            ERR_MSG: "a size such as 256x256 or 'any'",
            DEF: [{ ALT: () => this.CONSUME(T.SizeLiteral) }, { ALT: () => this.CONSUME(T.Any) }],
          });
        },
      },
    ]);
  });

  outputStatement = this.RULE('outputStatement', () => {
    this.CONSUME(T.Output);
    this.AT_LEAST_ONE({
      ERR_MSG: "'classes'",
      // A bare name followed by a value starts the next (perhaps misspelt) statement, as in
      // `output classes 1` then `dephth 4`: it is not this statement's activation.
      // Two bare names in a row (`dwon maxpool`) start a statement too, unless the first is an activation.
      GATE: () =>
        outputKeywords.includes(this.LA(1).tokenType) ||
        activations.includes(this.LA(1).image) ||
        !(startsValue(this.LA(2).tokenType) || this.LA(2).tokenType === T.Identifier),
      DEF: () => this.SUBRULE(this.outputItem),
    });
  });

  /** Output items in any order; a bare name is the activation (the schema checks its value). */
  outputItem = this.RULE('outputItem', () => {
    // The activation alternative also matches the item keywords, which are plain names: the keyword alternatives come first.
    this.OR({
      IGNORE_AMBIGUITIES: true,
      DEF: [
        {
          ALT: () => {
            this.CONSUME(T.Classes);
            this.CONSUME(T.NumberLiteral, { LABEL: 'classes' });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Names);
            this.AT_LEAST_ONE({ ERR_MSG: 'a string', DEF: () => this.CONSUME(T.StringLiteral) });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Threshold);
            this.CONSUME2(T.NumberLiteral, { LABEL: 'threshold' });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Instances);
            this.SUBRULE3(this.plainValue, { LABEL: 'instances' });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Split);
            this.SUBRULE(this.object, { LABEL: 'split' });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.From);
            this.SUBRULE(this.plainValue, { LABEL: 'from' });
          },
        },
        { ALT: () => this.SUBRULE2(this.plainValue, { LABEL: 'activation' }) },
      ],
    });
  });

  depthStatement = this.RULE('depthStatement', () => {
    this.CONSUME(T.Depth);
    this.CONSUME(T.NumberLiteral);
  });

  /** `filters 64 128 ...` or `filters base 32 growth 2`. */
  filtersStatement = this.RULE('filtersStatement', () => {
    this.CONSUME(T.Filters);
    this.OR({
      ERR_MSG: "a list of numbers or 'base'",
      DEF: [
        { ALT: () => this.AT_LEAST_ONE(() => this.CONSUME(T.NumberLiteral, { LABEL: 'filters' })) },
        {
          ALT: () => {
            this.CONSUME(T.Base);
            this.CONSUME2(T.NumberLiteral, { LABEL: 'base' });
            this.OPTION(() => {
              this.CONSUME(T.Growth);
              this.CONSUME3(T.NumberLiteral, { LABEL: 'growth' });
            });
          },
        },
      ],
    });
  });

  bottleneckStatement = this.RULE('bottleneckStatement', () => {
    this.CONSUME(T.Bottleneck);
    this.CONSUME(T.NumberLiteral);
  });

  /** The template (`block 2 x [...]` or `block { ... }`) or a per-block override (`block enc4 { ... }`). */
  blockStatement = this.RULE('blockStatement', () => {
    this.CONSUME(T.Block);
    this.OR({
      ERR_MSG: "a block count, '[', '{' or a block name",
      DEF: [
        { ALT: () => this.SUBRULE(this.blockTemplate) },
        { ALT: () => this.SUBRULE(this.object, { LABEL: 'templateObject' }) },
        {
          ALT: () => {
            this.SUBRULE(this.nameValue, { LABEL: 'blockName' });
            this.SUBRULE2(this.object, { LABEL: 'overrideObject' });
          },
        },
      ],
    });
  });

  /** `N x [unit] (-> dropout RATE)? { extra fields }?` */
  blockTemplate = this.RULE('blockTemplate', () => {
    this.OPTION(() => {
      this.CONSUME(T.NumberLiteral, { LABEL: 'count' });
      this.CONSUME(T.X);
    });
    this.CONSUME(T.LBracket);
    this.SUBRULE(this.unit);
    this.CONSUME(T.RBracket);
    this.OPTION2(() => {
      this.CONSUME(T.Arrow);
      this.CONSUME(T.Dropout);
      this.OPTION3(() => this.SUBRULE(this.rate));
    });
    this.OPTION4(() => this.SUBRULE(this.object));
  });

  unit = this.RULE('unit', () => {
    this.SUBRULE(this.step);
    this.MANY(() => {
      this.CONSUME(T.Arrow);
      this.SUBRULE2(this.step);
    });
  });

  /** A step of the unit; any other name is kept as a step name (the schema reports it). */
  step = this.RULE('step', () => {
    // The last alternative matches every name: the steps with arguments come first.
    this.OR({
      IGNORE_AMBIGUITIES: true,
      ERR_MSG: 'a step such as conv or relu',
      DEF: [
        { ALT: () => this.SUBRULE(this.convStep) },
        { ALT: () => this.SUBRULE(this.leakyReluStep) },
        { ALT: () => this.SUBRULE(this.batchnormStep) },
        { ALT: () => this.SUBRULE(this.dropoutStep) },
        { ALT: () => this.SUBRULE(this.nameValue) },
      ],
    });
  });

  /** `conv 3x3 same bias`, each argument optional, in that order. */
  convStep = this.RULE('convStep', () => {
    this.CONSUME(T.Conv);
    this.OPTION(() =>
      this.OR([
        { ALT: () => this.CONSUME(T.SizeLiteral, { LABEL: 'kernel' }) },
        { ALT: () => this.CONSUME(T.NumberLiteral, { LABEL: 'kernel' }) },
      ]),
    );
    this.OPTION2(() =>
      this.OR2([
        { ALT: () => this.CONSUME(T.Same, { LABEL: 'padding' }) },
        { ALT: () => this.CONSUME(T.Valid, { LABEL: 'padding' }) },
      ]),
    );
    this.OPTION3(() =>
      this.OR3([
        { ALT: () => this.CONSUME(T.Bias, { LABEL: 'bias' }) },
        { ALT: () => this.CONSUME(T.Nobias, { LABEL: 'bias' }) },
      ]),
    );
  });

  leakyReluStep = this.RULE('leakyReluStep', () => {
    this.CONSUME(T.LeakyRelu);
    this.OPTION(() => this.CONSUME(T.NumberLiteral));
  });

  batchnormStep = this.RULE('batchnormStep', () => {
    this.CONSUME(T.Batchnorm);
    this.MANY(() =>
      this.OR([
        {
          ALT: () => {
            this.CONSUME(T.Epsilon);
            this.CONSUME(T.NumberLiteral, { LABEL: 'epsilon' });
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Momentum);
            this.CONSUME2(T.NumberLiteral, { LABEL: 'momentum' });
          },
        },
      ]),
    );
  });

  dropoutStep = this.RULE('dropoutStep', () => {
    this.CONSUME(T.Dropout);
    this.OPTION(() => this.SUBRULE(this.rate));
  });

  downStatement = this.RULE('downStatement', () => {
    this.CONSUME(T.Down);
    this.SUBRULE(this.plainValue);
  });

  upStatement = this.RULE('upStatement', () => {
    this.CONSUME(T.Up);
    this.SUBRULE(this.plainValue);
  });

  skipStatement = this.RULE('skipStatement', () => {
    this.CONSUME(T.Skip);
    this.SUBRULE(this.plainValue);
  });

  /** `attention true`: attention gates on the skips (`network.attention`). */
  attentionStatement = this.RULE('attentionStatement', () => {
    this.CONSUME(T.Attention);
    this.SUBRULE(this.plainValue);
  });

  /** `deep-supervision true` or `deep-supervision 2` (`network.deep_supervision`). */
  deepSupervisionStatement = this.RULE('deepSupervisionStatement', () => {
    this.CONSUME(T.DeepSupervision);
    this.OR([{ ALT: () => this.CONSUME(T.NumberLiteral) }, { ALT: () => this.SUBRULE(this.plainValue) }]);
  });

  /** `pool 2` or `pool 1x2x2`: the down-sampling factor of every level (`network.pool`). */
  poolStatement = this.RULE('poolStatement', () => {
    this.CONSUME(T.Pool);
    this.OR({
      ERR_MSG: 'a factor such as 2 or 1x2x2',
      DEF: [{ ALT: () => this.CONSUME(T.NumberLiteral) }, { ALT: () => this.CONSUME(T.SizeLiteral) }],
    });
  });

  trainStatement = this.RULE('trainStatement', () => {
    this.CONSUME(T.Train);
    this.SUBRULE(this.object);
  });

  /** `node NAME = OP(INPUTS) { properties }`, inputs and properties optional. */
  nodeStatement = this.RULE('nodeStatement', () => {
    this.CONSUME(T.Node);
    this.SUBRULE(this.nameValue);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.plainValue, { LABEL: 'op' });
    this.OPTION(() => this.SUBRULE(this.nodeInputs));
    this.OPTION2(() => this.SUBRULE(this.object));
  });

  nodeInputs = this.RULE('nodeInputs', () => {
    this.CONSUME(T.LParen);
    this.MANY(() => {
      this.SUBRULE(this.nameValue);
      this.OPTION(() => this.CONSUME(T.Comma));
    });
    this.CONSUME(T.RParen);
  });
}

/** The one parser instance (Chevrotain parsers are built once and reused). */
export const dslParser = new DslParser();
