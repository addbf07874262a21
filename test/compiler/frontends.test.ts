import { describe, expect, it } from 'vitest';
import { compileSpec, formatSpec, printGraph, type Graph, type JsonValue } from '../../src/compiler/index.js';
import { compileFile, shippedSpecs } from '../helpers.js';

function ir(g: Graph | undefined): string {
  expect(g).toBeDefined();
  return printGraph(g!);
}

function convert(value: JsonValue, to: 'yaml' | 'dsl'): Graph | undefined {
  const body = formatSpec(value, { to });
  const c = compileSpec({ name: to === 'yaml' ? 'converted.yaml' : 'converted.unet', body });
  expect(
    c.diagnostics.filter((d) => d.severity === 'error'),
    body,
  ).toEqual([]);
  return c.graph;
}

describe('YAML and DSL lower to one IR', () => {
  it('the DSL canonical U-Net equals the YAML one', () => {
    expect(ir(compileFile('specs/unet.unet').graph)).toBe(ir(compileFile('specs/unet.yaml').graph));
  });

  it('negative control: a one-token change in the DSL gives a different IR', () => {
    const c = compileFile('specs/unet.unet');
    const body = c.document!.source.body.replace('dropout 0.1', 'dropout 0.2');
    expect(ir(compileSpec({ name: 'x.unet', body }).graph)).not.toBe(ir(compileFile('specs/unet.yaml').graph));
  });

  it.each(shippedSpecs())('%s round-trips through both formats to the same IR', (file) => {
    const c = compileFile(file);
    const original = ir(c.graph);
    const viaDsl = convert(c.document!.value, 'dsl');
    expect(ir(viaDsl)).toBe(original);
    const viaYaml = convert(c.document!.value, 'yaml');
    expect(ir(viaYaml)).toBe(original);
    // YAML -> DSL -> YAML
    const dslDoc = compileSpec({ name: 'a.unet', body: formatSpec(c.document!.value, { to: 'dsl' }) }).document!;
    expect(ir(convert(dslDoc.value, 'yaml'))).toBe(original);
  });

  it.each(shippedSpecs())('%s: formatting is idempotent', (file) => {
    const c = compileFile(file);
    for (const to of ['yaml', 'dsl'] as const) {
      const once = formatSpec(c.document!.value, { to });
      const again = compileSpec({ name: to === 'yaml' ? 'a.yaml' : 'a.unet', body: once }).document!;
      expect(formatSpec(again.value, { to })).toBe(once);
    }
  });
});

describe('residual and squeeze-excitation options in both front ends', () => {
  const dsl =
    'unet m {\n  input channels 1\n  output classes 1 sigmoid\n  depth 2\n  filters 8 16\n  block 2 x [conv 3x3 -> relu -> batchnorm] { residual true se 4 }\n  block enc1 { residual false se 2 }\n  block dec2 { residual true }\n}\n';
  const yaml =
    'name: m\ninput: {channels: 1}\noutput: {classes: 1, activation: sigmoid}\nnetwork:\n  depth: 2\n  filters: [8, 16]\n  block: {convs: 2, kernel: 3, order: [conv, relu, batchnorm], residual: true, se: 4}\n  blocks:\n    enc1: {residual: false, se: 2}\n    dec2: {residual: true}\n';

  it('the DSL reads them as generic block properties, giving the YAML value and IR', () => {
    const d = compileSpec({ name: 'm.unet', body: dsl });
    expect(d.diagnostics).toEqual([]);
    const net = (d.document!.value as { network: Record<string, unknown> }).network;
    expect(net.block).toMatchObject({ residual: true, se: 4 });
    expect(net.blocks).toEqual({ enc1: { residual: false, se: 2 }, dec2: { residual: true } });
    expect(ir(d.graph)).toBe(ir(compileSpec({ name: 'm.yaml', body: yaml }).graph));
  });

  it('per-block overrides win: enc1 has SE at ratio 2 and no shortcut, enc2 both at ratio 4', () => {
    const ops = new Map(compileSpec({ name: 'm.unet', body: dsl }).graph!.ops.map((op) => [op.name, op]));
    expect(ops.get('enc1.se_reduce')?.channels).toBe(4);
    expect(ops.has('enc1.residual')).toBe(false);
    expect(ops.get('enc2.se_reduce')?.channels).toBe(4);
    expect(ops.get('enc2.residual')?.inputs).toEqual(['enc2.se_scale', 'enc2.proj_bn']);
    expect(ops.get('dec2.residual')?.inputs).toEqual(['dec2.se_scale', 'dec2.proj_bn']);
  });

  it.each(['dsl', 'yaml'] as const)('fmt --to %s round-trips them', (to) => {
    const value = compileSpec({ name: 'm.unet', body: dsl }).document!.value;
    const text = formatSpec(value, { to });
    expect(text).toContain(to === 'dsl' ? '{ residual true se 4 }' : 'residual: true');
    expect(ir(convert(value, to))).toBe(ir(compileSpec({ name: 'm.yaml', body: yaml }).graph));
  });

  it('negative control: without the options the IR differs', () => {
    expect(ir(compileSpec({ name: 'm.yaml', body: yaml.replace(', residual: true, se: 4', '') }).graph)).not.toBe(
      ir(compileSpec({ name: 'm.yaml', body: yaml }).graph),
    );
  });
});

describe('attention gates in both front ends', () => {
  const dsl =
    'unet m {\n  input channels 1\n  output classes 1 sigmoid\n  depth 2\n  filters 8 16\n  skip concat\n  attention true\n}\n';
  const yaml =
    'name: m\ninput: {channels: 1}\noutput: {classes: 1, activation: sigmoid}\nnetwork:\n  depth: 2\n  filters: [8, 16]\n  skip: concat\n  attention: true\n';

  it('`attention true` gives network.attention: true and the YAML IR, with a gate per decoder', () => {
    const d = compileSpec({ name: 'm.unet', body: dsl });
    expect(d.diagnostics).toEqual([]);
    expect((d.document!.value as { network: Record<string, unknown> }).network.attention).toBe(true);
    expect(ir(d.graph)).toBe(ir(compileSpec({ name: 'm.yaml', body: yaml }).graph));
    const ops = new Map(d.graph!.ops.map((op) => [op.name, op]));
    expect(ops.get('dec2.concat')?.inputs).toEqual(['dec2.att_scale', 'dec2.up']);
    expect(ops.get('dec1.att_scale')?.inputs[1]).toBe('dec1.att_sigmoid');
    expect(ops.get('dec1.att_psi')?.channels).toBe(1);
  });

  it.each(['dsl', 'yaml'] as const)('fmt --to %s round-trips it', (to) => {
    const value = compileSpec({ name: 'm.unet', body: dsl }).document!.value;
    expect(formatSpec(value, { to })).toContain(to === 'dsl' ? 'attention true' : 'attention: true');
    expect(ir(convert(value, to))).toBe(ir(compileSpec({ name: 'm.yaml', body: yaml }).graph));
  });

  it('negative control: attention false gives no gates', () => {
    const g = compileSpec({ name: 'm.unet', body: dsl.replace('attention true', 'attention false') }).graph!;
    expect(g.ops.some((op) => op.name.includes('.att_'))).toBe(false);
  });
});
