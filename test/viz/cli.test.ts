import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runInspect } from '../../src/cli/inspect.js';
import { UsageError, type CliIO } from '../../src/cli/io.js';
import { runViz, type VizOptions } from '../../src/cli/viz.js';
import { root } from './helpers.js';
import { parseXml, texts } from './xml.js';

const dir = mkdtempSync(join(tmpdir(), 'unetc-viz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `viz` in-process with captured output. */
function viz(file: string, options: VizOptions): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const io: CliIO = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), color: false };
  const code = runViz(io, file.startsWith('/') ? file : join(root, file), options);
  return { code, out, err };
}

describe('unetc viz', () => {
  it('writes the U view of a template spec', () => {
    const output = join(dir, 'unet.svg');
    const r = viz('specs/unet.yaml', { output });
    expect(r.code).toBe(0);
    expect(r.err).toBe(`wrote ${output}: U-Net diagram of unet at 256x256\n`);
    const labels = texts(parseXml(readFileSync(output, 'utf8')));
    for (const c of ['64', '128', '256', '512', '1024']) expect(labels).toContain(c);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('--input sets the size (the 2015 paper’s 572 -> 388)', () => {
    const output = join(dir, 'unet-2015.svg');
    expect(viz('specs/unet-2015.yaml', { output, input: '572x572' }).code).toBe(0);
    const labels = texts(parseXml(readFileSync(output, 'utf8')));
    expect(labels).toContain('568x568');
    expect(labels).toContain('388x388');
  });

  it('explicit graphs, and templates with --graph, get the graph view', () => {
    const tiny = viz('specs/graph-tiny.yaml', { output: '-' });
    expect(tiny.code).toBe(0);
    expect(tiny.out.startsWith('<?xml')).toBe(true);
    for (const name of ['c1', 'r1', 'p1', 'c2', 'r2', 'u1', 'cat', 'c3', 'r3', 'logits'])
      expect(texts(parseXml(tiny.out))).toContain(name);
    const graph = viz('specs/tiny.yaml', { output: '-', graph: true });
    expect(texts(parseXml(graph.out))).toContain('enc1.conv1');
    expect(graph.out).toContain('graph diagram');
  });

  it('a bad spec gives its diagnostics and exit 1, and writes nothing', () => {
    const spec = join(dir, 'bad.yaml');
    writeFileSync(
      spec,
      'name: bad\ninput: {channels: 1}\noutput: {classes: 1}\nnetwork:\n  dephth: 4\n  filters: [8]\n',
    );
    const output = join(dir, 'bad.svg');
    const r = viz(spec, { output, format: 'short' });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error\[E201\] unknown key 'dephth'/);
    expect(readdirSync(dir)).not.toContain('bad.svg');
  });

  it('a size that does not fit gives the same E401 that inspect gives', () => {
    const output = join(dir, 'unfit.svg');
    const r = viz('specs/unet.yaml', { output, input: '100x100' });
    expect(r.code).toBe(1);
    expect(r.err).toContain('error[E401]: input 100x100 (from --input) does not fit: at enc3.pool');
    let inspectErr = '';
    const code = runInspect(
      { stdout: () => undefined, stderr: (t) => void (inspectErr += t), color: false },
      join(root, 'specs/unet.yaml'),
      { input: '100x100', format: 'frame', summary: true },
    );
    expect(code).toBe(1);
    expect(r.err).toBe(inspectErr);
    expect(readdirSync(dir)).not.toContain('unfit.svg');
  });

  it('--json reports the result on stdout', () => {
    const output = join(dir, 'json.svg');
    const r = viz('examples/variants.yaml', { output, format: 'json' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, output, view: 'unet', input: { height: 320, width: 480 } });
  });

  it.each<[string, VizOptions, RegExp]>([
    ['no output', {}, /needs an output file/],
    ['a PNG name', { output: 'unet.png' }, /writes SVG, not 'png'.*rsvg-convert/],
    ['a bad size', { output: '-', input: '12xx' }, /--input takes HxW/],
    ['JSON to stdout', { output: '-', format: 'json' }, /--json prints a JSON result/],
  ])('usage error: %s', (_, options, message) => {
    expect(() => viz('specs/unet.yaml', options)).toThrow(UsageError);
    expect(() => viz('specs/unet.yaml', options)).toThrow(message);
  });

  it('a folder that does not exist is an error with the path (main turns it into exit 1)', () => {
    const output = join(dir, 'missing', 'unet.svg');
    expect(() => viz('specs/unet.yaml', { output })).toThrow(expect.objectContaining({ code: 'ENOENT', path: output }));
  });
});
