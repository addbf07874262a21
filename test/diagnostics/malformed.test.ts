import { describe, expect, it } from 'vitest';
import { diagnosticsOf } from '../helpers.js';

/**
 * Malformed specs through the whole compiler (parse, schema, meaning, lowering, shapes), YAML and
 * DSL: each row is [title, file name, text, the one-line diagnostics it must give, in order].
 * DSL syntax errors in depth are in test/syntax/errors.test.ts.
 */
const cases: [string, string, string, string[]][] = [
  [
    'yaml: unclosed flow list',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32\n',
    [
      'bad.yaml:10:1: error[E101] YAML syntax: flow sequence in block collection must be sufficiently indented and end with a ]',
    ],
  ],
  [
    'yaml: tab indentation',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n\tdepth: 3\n',
    ['bad.yaml:8:1: error[E101] YAML syntax: tabs are not allowed as indentation'],
  ],
  [
    'yaml: duplicate key',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  depth: 4\n  filters: [8, 16, 32]\n',
    ["bad.yaml:9:3: error[E105] key 'depth' is given twice in this mapping"],
  ],
  [
    'yaml: bad indentation',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\n   size: any\n',
    ['bad.yaml:3:13: error[E101] YAML syntax: nested mappings are not allowed in compact mappings'],
  ],
  [
    'yaml: top level is a list',
    'bad.yaml',
    '- name: m\n',
    ['bad.yaml:1:1: error[E106] the spec must be a mapping of keys (name, input, output, network, ...)'],
  ],
  ['yaml: empty file', 'bad.yaml', '', ['bad.yaml:1:1: error[E106] the spec is empty']],
  [
    'yaml: unknown key with did-you-mean',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filtres: [8, 16, 32]\n',
    ["bad.yaml:9:3: error[E201] unknown key 'filtres' in network"],
  ],
  [
    'yaml: unknown top-level key',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\ntrian:\n  epochs: 3\n',
    ["bad.yaml:10:1: error[E201] unknown key 'trian'"],
  ],
  [
    'yaml: unknown key in block',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  block:\n    kernal: 3\n',
    ["bad.yaml:11:5: error[E201] unknown key 'kernal' in network.block"],
  ],
  [
    'dsl: unknown key in override',
    'bad.unet',
    'unet m {\n  input channels 1\n  output classes 1 sigmoid\n  depth 3\n  filters 8 16 32\n  block enc1 { kernal 5 }\n}\n',
    ["bad.unet:6:16: error[E201] unknown key 'kernal' in network.blocks.enc1"],
  ],
  [
    'dsl: unknown statement',
    'bad.unet',
    'unet m {\n  input channels 1\n  output classes 1 sigmoid\n  dpeth 3\n  filters 8 16 32\n}\n',
    ["bad.unet:4:3: error[E104] unknown statement 'dpeth'"],
  ],
  [
    'yaml: depth is a string',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: four\n  filters: [8, 16, 32]\n',
    ["bad.yaml:8:10: error[E202] network.depth must be an integer, found 'four'"],
  ],
  [
    'yaml: channels zero',
    'bad.yaml',
    'name: m\ninput:\n  channels: 0\noutput:\n  classes: 1\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n',
    ['bad.yaml:3:13: error[E203] input.channels must be at least 1, found 0'],
  ],
  [
    'yaml: depth too large',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 12\n  filters: {base: 8}\n',
    ['bad.yaml:8:10: error[E203] network.depth must be at most 8, found 12'],
  ],
  [
    'yaml: dropout 1.0',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  block:\n    dropout: 1.0\n',
    ['bad.yaml:11:14: error[E203] network.block.dropout must be less than 1, found 1'],
  ],
  [
    'yaml: kernel list of 3',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  block:\n    kernel: [3, 3, 3]\n',
    [
      'bad.yaml:11:13: error[E311] network.block.kernel has 3 sizes but the network is 2D: give [height, width] or one number',
    ],
  ],
  [
    'yaml: size is a word',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\n  size: big\noutput:\n  classes: 1\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n',
    ["bad.yaml:4:9: error[E202] input.size must be 'any' or a list of 2 or 3 integers, found 'big'"],
  ],
  [
    'yaml: misspelt enum',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  down: maxpol\n',
    ["bad.yaml:10:9: error[E204] network.down must be 'maxpool', 'avgpool' or 'conv', found 'maxpol'"],
  ],
  [
    'yaml: bad model name',
    'bad.yaml',
    'name: my model\ninput:\n  channels: 1\noutput:\n  classes: 1\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n',
    ["bad.yaml:1:7: error[E207] name 'my model' is not a valid name"],
  ],
  [
    'yaml: missing required',
    'bad.yaml',
    'name: m\ninput: {}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [8, 16]}\n',
    ["bad.yaml:2:1: error[E205] missing key 'channels' in input"],
  ],
  [
    'dsl: wrong type for depth',
    'bad.unet',
    'unet m {\n  input channels 1\n  output classes 1 sigmoid\n  depth "three"\n  filters 8 16 32\n}\n',
    ["bad.unet:4:9: error[E103] expected a number after 'depth', found '\"three\"'"],
  ],
  [
    'dsl: misspelt activation',
    'bad.unet',
    'unet m {\n  input channels 1\n  output classes 1 sigmod\n  depth 3\n  filters 8 16 32\n}\n',
    ["bad.unet:3:20: error[E204] output.activation must be 'sigmoid', 'softmax' or 'none', found 'sigmod'"],
  ],
  [
    'dsl: misspelt down',
    'bad.unet',
    'unet m {\n  input channels 1\n  output classes 1 sigmoid\n  depth 3\n  filters 8 16 32\n  down maxpol\n}\n',
    ["bad.unet:6:8: error[E204] network.down must be 'maxpool', 'avgpool' or 'conv', found 'maxpol'"],
  ],
  [
    'yaml: filters shorter than depth',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 4\n  filters: [8, 16, 32]\n',
    ['bad.yaml:9:12: error[E302] network.filters has 3 entries but depth is 4'],
  ],
  [
    'dsl: filters longer than depth',
    'bad.unet',
    'unet m {\n  input channels 1\n  output classes 1 sigmoid\n  depth 2\n  filters 8 16 32\n}\n',
    ['bad.unet:5:11: error[E302] network.filters has 3 entries but depth is 2'],
  ],
  [
    'yaml: filters with a zero',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 0, 32]\n',
    ['bad.yaml:9:16: error[E203] network.filters[1] must be at least 1, found 0'],
  ],
  [
    'yaml: filters is a string',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: wide\n',
    ["bad.yaml:9:12: error[E202] network.filters must be a list of integers or a mapping, found 'wide'"],
  ],
  [
    'yaml: per-level dropout wrong length',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  block:\n    dropout: [0.1, 0.2]\n',
    [
      'bad.yaml:11:14: error[E307] network.block.dropout lists 2 rates but there are 4 levels (depth 3 and the bottleneck)',
    ],
  ],
  [
    'yaml: order without conv',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  block:\n    order: [relu, batchnorm]\n',
    ["bad.yaml:11:12: error[E305] block order has no 'conv' step"],
  ],
  [
    'yaml: order with two convs',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  block:\n    order: [conv, relu, conv]\n',
    ["bad.yaml:11:25: error[E305] block order has 'conv' twice"],
  ],
  [
    'yaml: order with two activations',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  block:\n    order: [conv, relu, elu]\n',
    ['bad.yaml:11:25: error[E305] block order has an activation twice'],
  ],
  [
    'yaml: unknown step',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  block:\n    order: [conv, rleu]\n',
    [
      "bad.yaml:11:19: error[E204] network.block.order[1] must be 'conv', 'relu', 'leaky-relu', 'elu', 'batchnorm' or 'dropout', found 'rleu'",
    ],
  ],
  [
    'dsl: unknown step',
    'bad.unet',
    'unet m {\n  input channels 1\n  output classes 1 sigmoid\n  depth 3\n  filters 8 16 32\n  block 2 x [conv 3x3 -> rleu -> batchnorm]\n}\n',
    [
      "bad.unet:6:26: error[E204] network.block.order[1] must be 'conv', 'relu', 'leaky-relu', 'elu', 'batchnorm' or 'dropout', found 'rleu'",
    ],
  ],
  [
    'dsl: two batchnorms',
    'bad.unet',
    'unet m {\n  input channels 1\n  output classes 1 sigmoid\n  depth 3\n  filters 8 16 32\n  block 2 x [conv -> batchnorm -> relu -> batchnorm]\n}\n',
    ["bad.unet:6:43: error[E305] block order has 'batchnorm' twice"],
  ],
  [
    'yaml: dropout rate without step',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  block:\n    order: [conv, relu]\n    dropout: 0.2\n',
    ["bad.yaml:12:14: error[E306] dropout rate 0.2 is set but the block order has no 'dropout' step"],
  ],
  [
    'dsl: block-end dropout also in unit',
    'bad.unet',
    'unet m {\n  input channels 1\n  output classes 1 sigmoid\n  depth 3\n  filters 8 16 32\n  block 2 x [conv -> relu -> dropout 0.1] -> dropout 0.5\n}\n',
    ["bad.unet:6:46: error[E105] 'dropout' given twice"],
  ],
  [
    'yaml: softmax with one class',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: softmax\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n',
    ['bad.yaml:6:15: error[E303] softmax over 1 class is always 1.0'],
  ],
  [
    'dsl: class names count',
    'bad.unet',
    'unet m {\n  input channels 1\n  output classes 2 softmax names "bg"\n  depth 3\n  filters 8 16 32\n}\n',
    ['bad.unet:3:34: error[E304] output.class_names has 1 name but classes is 2'],
  ],
  [
    'yaml: override of a missing block',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  blocks:\n    enc4: {dropout: 0.5}\n',
    ["bad.yaml:11:5: error[E308] no block 'enc4' in a network of depth 3"],
  ],
  [
    'yaml: bad override name',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  blocks:\n    encoder1: {dropout: 0.5}\n',
    ["bad.yaml:11:5: error[E308] unknown block 'encoder1' in network.blocks"],
  ],
  [
    'yaml: network and graph',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\ngraph:\n  - {name: c, op: conv, filters: 1}\n',
    ["bad.yaml:10:1: error[E301] a spec has either 'network' (a U-Net template) or 'graph' (explicit nodes), not both"],
  ],
  [
    'yaml: neither network nor graph',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\n',
    [
      "bad.yaml:1:1: error[E301] missing 'network': describe the U-Net as a template (network) or as explicit nodes (graph)",
    ],
  ],
  [
    'yaml: ce loss with sigmoid head',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\ntrain:\n  loss: ce\n',
    ["bad.yaml:11:9: error[E310] loss 'ce' needs a softmax head, but output.activation is sigmoid"],
  ],
  [
    'yaml: contact weight without a boundary head',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\ntrain:\n  contact_weight: 10\n',
    [
      'bad.yaml:11:3: error[E310] train.contact_weight weighs the outline between touching instances of a boundary head, but output.instances is not boundary',
    ],
  ],
  [
    'yaml: fixed size does not fit',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\n  size: [100, 96]\noutput:\n  classes: 1\nnetwork:\n  depth: 4\n  filters: {base: 8}\n',
    [
      'bad.yaml:4:9: error[E401] input 100x96 does not fit: at enc3.pool the height is 25: 25 is not divisible by 2, so pooling would drop 1 row(s)',
    ],
  ],
  [
    'yaml: valid padding too deep',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\n  size: [64, 64]\noutput:\n  classes: 1\nnetwork:\n  depth: 4\n  filters: {base: 8}\n  block:\n    padding: valid\n',
    [
      'bad.yaml:4:9: error[E401] input 64x64 does not fit: at enc3.pool the height is 9: 9 is not divisible by 2, so pooling would drop 1 row(s)',
    ],
  ],
  [
    'dsl: fixed size width does not fit',
    'bad.unet',
    'unet m {\n  input channels 1 size 96x100\n  output classes 1\n  depth 3\n  filters 8 16 32\n}\n',
    [
      'bad.unet:2:25: error[E401] input 96x100 does not fit: at enc3.pool the width is 25: 25 is not divisible by 2, so pooling would drop 1 column(s)',
    ],
  ],
  [
    'yaml: add skip with mismatched override',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  skip: add\n  blocks:\n    dec2: {filters: 12}\n',
    [
      "bad.yaml:12:12: error[E309] dec2.add adds the encoder's 16 channels to the decoder's 12; skip: add needs them equal",
    ],
  ],
  [
    'yaml: graph cycle',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\ngraph:\n  - {name: a, op: conv, inputs: [b], filters: 1}\n  - {name: b, op: relu, inputs: [a]}\n',
    ['bad.yaml:8:33: error[E503] the graph has a cycle: b -> a -> b'],
  ],
  [
    'yaml: graph unknown input',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\ngraph:\n  - {name: conv1, op: conv, filters: 4}\n  - {name: out, op: conv, inputs: [cnv1], filters: 1}\n',
    ["bad.yaml:9:36: error[E502] graph[1] ('out') reads 'cnv1', which is not a node"],
  ],
  [
    'yaml: graph duplicate name',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\ngraph:\n  - {name: a, op: conv, filters: 4}\n  - {name: a, op: conv, filters: 1}\n',
    ["bad.yaml:9:12: error[E501] node name 'a' is used twice"],
  ],
  [
    'yaml: graph concat of one',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\ngraph:\n  - {name: a, op: conv, filters: 1}\n  - {name: b, op: concat, inputs: [a]}\n',
    ["bad.yaml:9:35: error[E504] concat node 'b' takes at least 2 inputs, found 1"],
  ],
  [
    'yaml: graph conv without filters',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\ngraph:\n  - {name: a, op: conv, kernel: 3}\n',
    ["bad.yaml:8:5: error[E205] missing key 'filters' in graph[0] (a conv node)"],
  ],
  [
    'dsl: graph unknown op',
    'bad.unet',
    'unet m {\n  input channels 1\n  output classes 1\n  node a = convolution(input) { filters 1 }\n}\n',
    [
      "bad.unet:4:12: error[E204] graph[0].op must be 'conv', 'batchnorm', 'relu', 'leaky-relu', 'elu', 'sigmoid', 'softmax', 'dropout', 'maxpool', 'avgpool', 'conv-transpose', 'upsample', 'concat', 'add', 'crop', 'global-avgpool' or 'multiply', found 'convolution'",
    ],
  ],
  [
    'dsl: graph output channels',
    'bad.unet',
    'unet m {\n  input channels 1\n  output classes 1\n  node a = conv(input) { filters 4 }\n}\n',
    ["bad.unet:3:18: error[E406] the graph's output 'a' has 4 channels but output.classes is 1"],
  ],
  [
    'yaml: alias bomb',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\ntrain:\n  augment:\n    a: &a [1,1,1,1,1,1,1,1,1,1]\n    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n',
    [
      'bad.yaml:12:28: error[E101] the spec expands to more than 100000 values (through aliases?); a spec needs far fewer',
    ],
  ],
  [
    'yaml: __proto__ key is a key',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  __proto__: {depth: 2}\n  filters: [8, 16]\n',
    [
      "bad.yaml:7:1: error[E205] missing key 'depth' in network",
      "bad.yaml:8:3: error[E201] unknown key '__proto__' in network",
    ],
  ],
  [
    'yaml: NaN',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  block:\n    dropout: .nan\n',
    ['bad.yaml:11:14: error[E202] NaN is not a finite number'],
  ],
  [
    'yaml: strided-conv down must tile',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\n  size: [250, 256]\noutput:\n  classes: 1\nnetwork:\n  depth: 2\n  filters: [8, 16]\n  down: conv\n  skip: none\n',
    [
      'bad.yaml:4:9: error[E401] input 250x256 does not fit: at enc2.down the height is 125: 125 does not tile with a 2-wide kernel at stride 2, so the conv would drop 1 row(s)',
    ],
  ],
  [
    'yaml: patch does not fit',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\ntrain:\n  patch: [100, 100]\n',
    [
      'bad.yaml:11:10: error[E401] input 100x100 (train.patch) does not fit: at enc3.pool the height is 25: 25 is not divisible by 2, so pooling would drop 1 row(s)',
    ],
  ],
  [
    'yaml: misspelt block name',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  blocks:\n    bottelneck: {convs: 3}\n',
    ["bad.yaml:11:5: error[E308] unknown block 'bottelneck' in network.blocks"],
  ],
  [
    'yaml: transposed letters',
    'bad.yaml',
    'nmae: m\ninput: {channels: 1}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [8, 16]}\n',
    ["bad.yaml:1:1: error[E201] unknown key 'nmae'"],
  ],
  [
    'yaml: two documents',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n---\nname: other\n',
    [
      "bad.yaml:10:1: error[E101] YAML syntax: a spec is one YAML document, but this file has a '---' separator and more after it",
    ],
  ],
  [
    'yaml: no space after colon',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth:3\n  filters: [8, 16, 32]\n',
    ['bad.yaml:8:3: error[E101] YAML syntax: implicit keys need to be on a single line'],
  ],
  [
    'yaml: graph softmax over one channel',
    'bad.yaml',
    'name: m\ninput: {channels: 1}\noutput: {classes: 1, activation: none}\ngraph:\n  - {name: a, op: conv, filters: 1}\n  - {name: s, op: softmax}\n',
    ["bad.yaml:6:19: error[E303] softmax node 's' normalizes over 1 channel: its output is always 1.0"],
  ],
  [
    'yaml: graph ends in sigmoid twice (warning)',
    'ok.yaml',
    'name: m\ninput: {channels: 1}\noutput: {classes: 1, activation: sigmoid}\ngraph:\n  - {name: a, op: conv, filters: 1}\n  - {name: s, op: sigmoid}\n',
    ['ok.yaml:3:34: warning[W303] the graph ends in a sigmoid node and output.activation adds sigmoid on top'],
  ],
  [
    'dsl: misspelt statement after output',
    'bad.unet',
    'unet m {\n  input channels 1\n  output classes 2\n  dwon maxpool\n  depth 2\n  filters 8 16\n}\n',
    ["bad.unet:4:3: error[E104] unknown statement 'dwon'"],
  ],
  [
    'yaml: se ratio 0',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  block:\n    se: 0\n',
    ['bad.yaml:11:9: error[E203] network.block.se must be at least 1, found 0'],
  ],
  [
    'yaml: residual is a string',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  block:\n    residual: "yes"\n',
    ["bad.yaml:11:15: error[E202] network.block.residual must be true or false, found 'yes'"],
  ],
  [
    'yaml: se ratio not an integer in an override',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  blocks:\n    enc1: {se: 1.5}\n',
    ['bad.yaml:11:16: error[E202] network.blocks.enc1.se must be an integer, found 1.5'],
  ],
  [
    'dsl: residual yes',
    'bad.unet',
    'unet m {\n  input channels 1\n  output classes 1 sigmoid\n  depth 3\n  filters 8 16 32\n  block 2 x [conv 3x3 -> relu -> batchnorm] { residual yes se 16 }\n}\n',
    ["bad.unet:6:56: error[E202] network.block.residual must be true or false, found 'yes'"],
  ],
  [
    'dsl: se 0 in an override',
    'bad.unet',
    'unet m {\n  input channels 1\n  output classes 1 sigmoid\n  depth 3\n  filters 8 16 32\n  block enc1 { se 0 }\n}\n',
    ['bad.unet:6:19: error[E203] network.blocks.enc1.se must be at least 1, found 0'],
  ],
  [
    "yaml: se ratio above a block's channels (warning)",
    'ok.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  block:\n    se: 16\n',
    [
      'ok.yaml:11:9: warning[W304] squeeze-excitation ratio 16 is larger than the channels it squeezes: blocks enc1, dec1 have 8 channels, so the squeeze keeps 1 channel',
    ],
  ],
  [
    'yaml: attention is a string',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  attention: "yes"\n',
    ["bad.yaml:10:14: error[E202] network.attention must be true or false, found 'yes'"],
  ],
  [
    'dsl: attention yes',
    'bad.unet',
    'unet m {\n  input channels 1\n  output classes 1 sigmoid\n  depth 2\n  filters 8 16\n  skip concat\n  attention yes\n}\n',
    ["bad.unet:7:13: error[E202] network.attention must be true or false, found 'yes'"],
  ],
  [
    'yaml: override repeats the template error only once',
    'bad.yaml',
    'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n  block:\n    order: [relu, batchnorm]\n  blocks:\n    enc1: {convs: 3}\n    dec1: {convs: 1}\n',
    ["bad.yaml:11:12: error[E305] block order has no 'conv' step"],
  ],
  [
    'yaml: attention without skips (warning)',
    'ok.yaml',
    'name: m\ninput: {channels: 1}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [8, 16], skip: none, attention: true}\n',
    ['ok.yaml:4:51: warning[W306] attention gates act on skip connections, and skip: none has none'],
  ],
];

describe('malformed specs give located diagnostics', () => {
  it.each(cases)('%s', (_title, file, body, expected) => {
    expect(diagnosticsOf(file, body)).toEqual(expected);
  });

  it('every case is an error (negative control: the valid base has none)', () => {
    for (const [, file, , expected] of cases)
      expect(expected.some((d) => d.includes(file.startsWith('ok') ? ': warning[' : ': error['))).toBe(true);
    expect(
      diagnosticsOf(
        'ok.yaml',
        'name: m\ninput:\n  channels: 1\noutput:\n  classes: 1\n  activation: sigmoid\nnetwork:\n  depth: 3\n  filters: [8, 16, 32]\n',
      ),
    ).toEqual([]);
    expect(
      diagnosticsOf(
        'ok.unet',
        'unet m {\n  input channels 1\n  output classes 1 sigmoid\n  depth 3\n  filters 8 16 32\n}\n',
      ),
    ).toEqual([]);
  });
});
