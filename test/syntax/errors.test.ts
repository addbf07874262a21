import { describe, expect, it } from 'vitest';
import { makeSource, MAX_DIAGNOSTICS } from '../../src/compiler/diagnostics/index.js';
import { parseDsl } from '../../src/compiler/syntax/index.js';
import { parseErrors } from './helpers.js';

describe('parseDsl: malformed specs', () => {
  it.each<[string, string, string[]]>([
    [
      'unknown statement, did you mean',
      'unet m {\n  dephth 4\n}',
      ["bad.unet:2:3: error[E104] unknown statement 'dephth'"],
    ],
    [
      'unknown statement, wrong case',
      'unet m {\n  Depth 4\n}',
      ["bad.unet:2:3: error[E104] unknown statement 'Depth'"],
    ],
    [
      'unknown statement, nothing close',
      'unet m {\n  frobnicate 4 [1 2] { a b }\n}',
      ["bad.unet:2:3: error[E104] unknown statement 'frobnicate'"],
    ],
    [
      'missing number',
      'unet m {\n  depth\n  filters 64\n}',
      ["bad.unet:3:3: error[E103] expected a number after 'depth', found 'filters'"],
    ],
    [
      'wrong token for a number',
      'unet m {\n  depth [\n}',
      ["bad.unet:2:9: error[E103] expected a number after 'depth', found '['"],
    ],
    ['bad character', 'unet m {\n  depth 4 %\n}', ["bad.unet:2:11: error[E102] unexpected character '%'"]],
    ['bad characters', 'unet m {\n  depth 4 @@\n}', ["bad.unet:2:11: error[E102] unexpected characters '@@'"]],
    ['unterminated string', 'unet m {\n  description "open\n}', ['bad.unet:2:15: error[E102] unterminated string']],
    [
      'unknown escape',
      'unet m {\n  description "a\\q"\n}',
      ["bad.unet:2:17: error[E102] unknown escape '\\q' in a string"],
    ],
    [
      'duplicate statement',
      'unet m {\n  depth 4\n  depth 5\n}',
      ["bad.unet:3:3: error[E105] statement 'depth' given twice"],
    ],
    [
      'duplicate property key',
      'unet m {\n  train { loss bce\n    loss dice }\n}',
      ["bad.unet:3:5: error[E105] key 'loss' given twice"],
    ],
    [
      'duplicate block override',
      'unet m {\n  block enc4 { dropout 0.5 }\n  block enc4 {}\n}',
      ["bad.unet:3:9: error[E105] block 'enc4' given twice"],
    ],
    [
      'duplicate template',
      'unet m {\n  block [conv]\n  block {}\n}',
      ['bad.unet:3:3: error[E105] block template given twice'],
    ],
    [
      'kernel set by two steps',
      'unet m {\n  block [conv 3x3 -> conv 5x5]\n}',
      ["bad.unet:2:22: error[E105] 'kernel' given twice"],
    ],
    [
      'dropout in the unit and at the end',
      'unet m {\n  block [conv -> dropout 0.1] -> dropout 0.5\n}',
      ["bad.unet:2:34: error[E105] 'dropout' given twice"],
    ],
    [
      'output item twice',
      'unet m {\n  output classes 1 classes 2\n}',
      ["bad.unet:2:20: error[E105] 'classes' given twice"],
    ],
    [
      'missing closing brace',
      'unet m {\n  depth 4\n',
      ["bad.unet:2:10: error[E103] expected '}' after '4', found the end of the file"],
    ],
    [
      'missing closing brace of properties',
      'unet m {\n  train { loss bce\n}',
      ["bad.unet:3:2: error[E103] expected '}' after '}', found the end of the file"],
    ],
    [
      'missing header',
      'depth 4',
      [
        "bad.unet:1:1: error[E103] expected 'unet' at the start of the file, found 'depth'",
        "bad.unet:1:7: error[E103] expected '{' after 'depth', found '4'",
      ],
    ],
    [
      'empty file',
      '',
      ["bad.unet:1:1: error[E103] expected 'unet' at the start of the file, found the end of the file"],
    ],
    ['missing name', 'unet {\n}', ["bad.unet:1:6: error[E103] expected a name or a string after 'unet', found '{'"]],
    [
      'missing opening brace',
      'unet m\n  depth 4\n}',
      ["bad.unet:2:3: error[E103] expected '{' after 'm', found 'depth'"],
    ],
    [
      'text after the spec',
      'unet m { } depth 4',
      ["bad.unet:1:12: error[E103] expected the end of the file after the closing '}', found 'depth'"],
    ],
    [
      'statement that is not a word',
      'unet m {\n  4 5\n  depth 4\n}',
      ["bad.unet:2:3: error[E103] expected a statement or '}' after '{', found '4'"],
    ],
    [
      'header keyword inside',
      'unet m {\n  unet 4\n}',
      ["bad.unet:2:3: error[E103] expected a statement or '}' after '{', found 'unet'"],
    ],
    [
      'block count without x',
      'unet m {\n  block 2 [conv]\n}',
      ["bad.unet:2:11: error[E103] expected 'x' after '2', found '['"],
    ],
    [
      'block without anything',
      'unet m {\n  block\n}',
      ["bad.unet:3:1: error[E103] expected a block count, '[', '{' or a block name after 'block', found '}'"],
    ],
    [
      'stray word in a unit',
      'unet m {\n  block [conv 3x3 foo]\n}',
      ["bad.unet:2:19: error[E103] expected '->' or ']' after '3x3', found 'foo'"],
    ],
    [
      'missing step',
      'unet m {\n  block [conv -> ]\n}',
      ["bad.unet:2:18: error[E103] expected a step such as conv or relu after '->', found ']'"],
    ],
    [
      'class names must be strings',
      'unet m {\n  output classes 2 names bg\n}',
      ["bad.unet:2:26: error[E103] expected a string after 'names', found 'bg'"],
    ],
    [
      'input without items',
      'unet m {\n  input\n}',
      ["bad.unet:3:1: error[E103] expected 'channels', 'dims', 'size' or 'normalize' after 'input', found '}'"],
    ],
    [
      'bad size',
      'unet m {\n  input channels 1 size big\n}',
      ["bad.unet:2:25: error[E103] expected a size such as 256x256 or 'any' after 'size', found 'big'"],
    ],
    [
      'node without =',
      'unet m {\n  node c1 conv(input)\n}',
      ["bad.unet:2:11: error[E103] expected '=' after 'c1', found 'conv'"],
    ],
    [
      'unclosed node inputs',
      'unet m {\n  node c = conv(a b\n}',
      ["bad.unet:3:1: error[E103] expected a node name or ')' after 'b', found '}'"],
    ],
    [
      'property without value',
      'unet m {\n  train { flip }\n}',
      ["bad.unet:2:16: error[E103] expected a value after 'flip', found '}'"],
    ],
    [
      'unclosed list',
      'unet m {\n  train { a [1 2 }\n}',
      ["bad.unet:2:18: error[E103] expected a value or ']' after '2', found '}'"],
    ],
    [
      'filters in brackets',
      'unet m {\n  filters [64 128]\n}',
      ["bad.unet:2:11: error[E103] expected a list of numbers or 'base' after 'filters', found '['"],
    ],
    [
      'recovery: several errors in one run',
      'unet m {\n  depth [\n  filters 64 128\n  dephth 4\n  train { loss }\n  block 2 [conv]\n}',
      [
        "bad.unet:2:9: error[E103] expected a number after 'depth', found '['",
        "bad.unet:4:3: error[E104] unknown statement 'dephth'",
        "bad.unet:5:16: error[E103] expected a value after 'loss', found '}'",
        "bad.unet:6:11: error[E103] expected 'x' after '2', found '['",
      ],
    ],
    [
      'recovery: lexical and syntax errors together',
      'unet m {\n  description "open\n  depth $ 4\n  skip\n}',
      [
        'bad.unet:2:15: error[E102] unterminated string',
        "bad.unet:3:9: error[E102] unexpected character '$'",
        "bad.unet:5:1: error[E103] expected a name or a string after 'skip', found '}'",
      ],
    ],
    [
      'brackets nested too deep',
      `unet m {\n  train { a ${'['.repeat(120)} }\n}`,
      ['bad.unet:2:111: error[E103] brackets nested more than 100 deep'],
    ],
  ])('%s', (_, text, expected) => {
    expect(parseErrors(text).lines).toEqual(expected);
  });

  it('suggests the statement keyword for a misspelt one', () => {
    const [d] = parseErrors('unet m {\n  dephth 4\n}').diagnostics;
    expect(d?.suggestion).toBe('depth');
    expect(parseErrors('unet m {\n  filter 64\n}').diagnostics[0]?.suggestion).toBe('filters');
    expect(parseErrors('unet m {\n  frobnicate 4\n}').diagnostics[0]?.suggestion).toBeUndefined();
  });

  it('says where a duplicate was first given', () => {
    const [d] = parseErrors('unet m {\n\n  depth 4\n  depth 5\n}').diagnostics;
    expect(d?.notes).toEqual(['first given at line 3']);
  });

  it('spans errors at the offending token', () => {
    const text = 'unet m {\n  depth [\n}';
    const [d] = parseErrors(text).diagnostics;
    expect(text.slice(d!.span!.start, d!.span!.end)).toBe('[');
    const unknown = 'unet m {\n  dephth 4\n}';
    const [e] = parseErrors(unknown).diagnostics;
    expect(unknown.slice(e!.span!.start, e!.span!.end)).toBe('dephth');
  });

  it('caps the number of diagnostics', () => {
    const r = parseDsl(makeSource('x.unet', `unet m {\n${'  % depth 4\n'.repeat(200)}}`));
    expect(r.value).toBeUndefined();
    expect(r.diagnostics.length).toBe(MAX_DIAGNOSTICS);
  });
});
