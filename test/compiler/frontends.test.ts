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
  expect(c.diagnostics.filter((d) => d.severity === 'error'), body).toEqual([]);
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
