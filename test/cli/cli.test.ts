import { readFileSync, writeFileSync, copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from './helpers.js';
import { root, scratchDir } from '../helpers.js';

const spec = (name: string) => join(root, 'specs', name);

function tempFile(name: string, body: string): string {
  const dir = scratchDir('unetc-cli-');
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}

describe('unetc check', () => {
  it('exits 0 on the canonical spec', async () => {
    const r = await run('check', spec('unet.yaml'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/ok: unet, \d+ ops, input 1ch of any size \(sides: multiples of 16\)/);
    expect(r.err).toBe('');
  });

  it('exits 1 with a located error and no stack trace', async () => {
    const file = tempFile(
      'bad.yaml',
      'name: x\ninput: {channels: 1}\noutput: {classes: 1}\nnetwork: {depth: 4, filters: [8, 16]}\n',
    );
    const r = await run('check', '--short', file);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`${file}:4:30: error[E302] network.filters has 2 entries but depth is 4\n`);
  });

  it('code frames by default', async () => {
    const file = tempFile(
      'bad.yaml',
      'name: x\ninput: {channels: 1}\noutput: {classes: 1}\nnetwork: {depth: 4, filters: [8, 16]}\n',
    );
    const r = await run('check', file);
    expect(r.err).toContain('error[E302]: network.filters has 2 entries but depth is 4');
    expect(r.err).toContain(' |                              ^^^^^^^');
    expect(r.err).not.toMatch(/\bat .*\.(ts|js):\d+/);
  });

  it('--json gives parseable diagnostics', async () => {
    const file = tempFile(
      'bad.yaml',
      'name: x\ninput: {channels: 0}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [8, 16]}\n',
    );
    const r = await run('check', '--json', file);
    expect(r.code).toBe(1);
    const json = JSON.parse(r.out) as { ok: boolean; diagnostics: { code: string; start: { line: number } }[] };
    expect(json.ok).toBe(false);
    expect(json.diagnostics[0]).toMatchObject({ code: 'E203', start: { line: 2 } });
  });

  it('a missing file is exit 1 with its name', async () => {
    const r = await run('check', '--short', 'no/such/spec.yaml');
    expect(r.code).toBe(1);
    expect(r.err).toBe("unetc: error[E901] cannot read 'no/such/spec.yaml': no such file\n");
  });

  it('an unknown extension is exit 1', async () => {
    const file = tempFile('spec.txt', 'name: x');
    const r = await run('check', '--short', file);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error\[E902\] cannot tell the spec format/);
  });

  it('a binary file is refused as not text; a byte-order mark does not shift columns', async () => {
    const bin = tempFile('bin.yaml', '');
    writeFileSync(bin, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]));
    const r = await run('check', '--short', bin);
    expect([r.code, r.err]).toEqual([1, `unetc: error[E901] cannot read '${bin}': it is not a text file\n`]);
    const bom = tempFile(
      'bom.yaml',
      '\ufeffname: my model\ninput: {channels: 1}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [8, 16]}\n',
    );
    expect((await run('check', '--short', bom)).err).toBe(
      `${bom}:1:7: error[E207] name 'my model' is not a valid name\n`,
    );
  });

  it('more errors than are shown are counted', async () => {
    const keys = Array.from({ length: 80 }, (_, i) => `  k${i}: 1`).join('\n');
    const file = tempFile(
      'many.yaml',
      `name: x\ninput: {channels: 1}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [8, 16]}\ntrain:\n${keys}\n`,
    );
    const r = await run('check', file);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/50 errors shown, 30 more not shown\n$/);
  });

  it.each([
    [['fmt', spec('tiny.yaml'), '--to', 'dsl', '-o', 'out.yaml']],
    [['check', '--bogus', 'x.yaml']],
    [['nosuchcommand']],
    [['check']],
    [['inspect', spec('unet.yaml'), '--input', '256by256']],
    [['inspect', spec('unet.yaml'), '--batch', '0']],
    [['fmt', spec('unet.yaml'), '--to', 'json']],
  ])('usage error %j exits 2', async (argv) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.err).not.toMatch(/\.(ts|js):\d+:\d+/);
  });

  it('--version and --help exit 0', async () => {
    expect((await run('--version')).code).toBe(0);
    expect((await run('--help')).code).toBe(0);
  });
});

describe('unetc inspect', () => {
  it('reports the canonical totals', async () => {
    const r = await run('inspect', spec('unet.yaml'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('params:      31,054,145 total, 31,042,369 trainable, 11,776 non-trainable');
    expect(r.out).toMatch(/MACs:\s+48\.09 G per image at 256x256/);
    expect(r.out).toMatch(/enc1\.conv1\s+Conv 3x3\s+256x256x64\s+640\s+37\.75 M/);
  });

  it('the 2015 spec at 572x572 gives 388x388', async () => {
    const r = await run('inspect', spec('unet-2015.yaml'), '--input', '572x572');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^unet-2015 \(.*\): input 572x572x1 -> output 388x388x2, softmax/);
  });

  it('a size that does not fit is exit 1 with the failing level', async () => {
    const r = await run('inspect', '--short', spec('unet.yaml'), '--input', '100x100');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error\[E401\] input 100x100 \(from --input\) does not fit: at enc3\.pool/);
  });

  it('--json has layers and totals', async () => {
    const r = await run('inspect', '--json', spec('tiny.yaml'), '--batch', '2');
    const json = JSON.parse(r.out) as { params: { total: number }; layers: unknown[]; memory: { batch: number } };
    expect(json.layers.length).toBeGreaterThan(10);
    expect(json.memory.batch).toBe(2);
    expect(json.params.total).toBeGreaterThan(0);
  });
});

describe('unetc fmt', () => {
  it('shipped YAML specs are canonical (--check)', async () => {
    for (const f of readdirSync(join(root, 'specs')).filter((f) => f.endsWith('.yaml') || f.endsWith('.unet'))) {
      const r = await run('fmt', '--check', spec(f));
      expect([f, r.code, r.err]).toEqual([f, 0, '']);
    }
  });

  it('negative control: --check fails on a reordered file', async () => {
    const file = tempFile(
      'x.yaml',
      'input: {channels: 1}\nname: x\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [8, 16]}\n',
    );
    const r = await run('fmt', '--check', file);
    expect(r.code).toBe(1);
  });

  it('--to dsl --write writes beside the file, atomically, and the result checks', async () => {
    const dir = scratchDir('unetc-cli-');
    const file = join(dir, 'unet.yaml');
    copyFileSync(spec('unet.yaml'), file);
    const r = await run('fmt', file, '--to', 'dsl', '--write');
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, 'unet.unet'))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['unet.unet', 'unet.yaml']);
    expect((await run('check', join(dir, 'unet.unet'))).code).toBe(0);
    expect(readFileSync(join(dir, 'unet.unet'), 'utf8')).toMatch(/^# The canonical U-Net/);
  });

  it('an unwritable output is exit 1 and says where', async () => {
    const notAFolder = tempFile('file.txt', '');
    const r = await run('fmt', spec('tiny.yaml'), '-o', join(notAFolder, 'out.yaml'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: cannot write '.*out\.yaml\.\d+\.tmp': a part of the path is not a folder\n$/);
    const missing = await run('fmt', spec('tiny.yaml'), '-o', join(notAFolder + '.d', 'out.yaml'));
    expect(missing.err).toMatch(/no such folder/);
  });
});
