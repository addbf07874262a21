import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSample, writeGray, writeMask } from '../../../src/runtime/data/index.js';
import {
  buildRunReport,
  escapeHtml,
  externalReferences,
  imageDice,
  niceAxis,
  parseMetrics,
  prettyJson,
  readMetrics,
  validationExamples,
  writeRunReport,
  type ReportSample,
} from '../../../src/runtime/report/index.js';
import { fakeRun, INJECTED, METRICS, tagProblems, type FakeRun } from './fixture.js';

const dataImages = (html: string) =>
  [...html.matchAll(/<img src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/g)].map((m) =>
    decode(Buffer.from(m[1]!, 'base64')),
  );
const GENERATED = new Date('2026-01-02T03:04:05Z');

let run: FakeRun;
let html: string;
const cleanup: string[] = [];

beforeAll(async () => {
  run = await fakeRun({ val: 3 });
  cleanup.push(join(run.dir, '..'));
  const file = await buildRunReport(run.dir, { generated: GENERATED });
  expect(file).toBe(join(run.dir, 'report.html'));
  html = readFileSync(file, 'utf8');
}, 60_000);

afterAll(() => {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

describe('report.html of a run folder', () => {
  it('is well-formed HTML with a document skeleton', () => {
    expect(tagProblems(html)).toEqual([]);
    expect(html).toMatch(/^<!DOCTYPE html>\n<html lang="en">/);
    expect(html).toContain('<meta charset="utf-8"/>');
    expect(html).toContain('<title>tiny: unetc run report</title>');
  });

  it('draws the loss and score curves as SVG line charts with axes, ticks and labels', () => {
    const charts = [...html.matchAll(/<svg[^>]*class="chart"[\s\S]*?<\/svg>/g)].map((m) => m[0]);
    expect(charts).toHaveLength(2);
    const [loss, scores] = charts as [string, string];
    expect(loss).toContain('Training loss');
    expect(scores).toContain('Validation scores');
    for (const c of charts) {
      expect(c).toMatch(/<polyline points="[\d.,\s]+"/);
      expect(c).toContain('class="axis-label">epoch</text>');
      for (const epoch of [1, 2, 3]) expect(c).toContain(`class="tick">${epoch}</text>`);
    }
    // Three series on the score chart, three points each; the best epoch is marked.
    expect(scores.match(/<polyline /g)).toHaveLength(3);
    expect(scores.match(/<circle /g)).toHaveLength(9);
    expect(scores).toContain('best: Dice 0.7400 at epoch 2');
    expect(html).toContain('<div class="value">0.7400</div>');
  });

  it('embeds the architecture diagram', () => {
    const diagram = /<div class="diagram">([\s\S]*?)<\/div><\/section>/.exec(html)?.[1] ?? '';
    expect(diagram).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(diagram).not.toContain('<?xml');
    expect(diagram).toContain('U-Net, depth 3: input 64x64x1');
    for (const channels of ['>8<', '>16<', '>32<']) expect(diagram).toContain(channels);
  });

  it('shows the spec text escaped, and the manifest as JSON', () => {
    const spec = /<pre class="spec">([\s\S]*?)<\/pre>/.exec(html)?.[1];
    expect(spec).toBe(escapeHtml(run.specText));
    expect(spec).toContain(
      '&lt;script src=&quot;http://evil.example/x.js&quot;&gt;&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;',
    );
    expect(html).not.toContain(INJECTED);
    expect(html).not.toMatch(/<script/i);
    const manifest = /<pre class="manifest">([\s\S]*?)<\/pre>/.exec(html)?.[1] ?? '';
    const json = JSON.parse(
      manifest
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&amp;/g, '&'),
    ) as typeof run.manifest;
    expect(json).toMatchObject({
      format: 'unetc-run',
      version: 1,
      settings: { epochs: 4, patch: [64, 64] },
      data: { fingerprint: 'synthetic:0:0:3:64' },
      engine: 'wasm',
    });
    expect(json.spec.sha256).toBe(run.manifest.spec.sha256);
  });

  it('shows each validation image three times (image, truth, prediction) as PNG data: URIs with its Dice', () => {
    const images = dataImages(html);
    expect(images).toHaveLength(9);
    for (const png of images) expect([png.width, png.height, png.channels]).toEqual([64, 64, 3]);
    expect(html.match(/<figure class="sample">/g)).toHaveLength(3);
    expect(html.match(/class="dice (good|fair|poor)">Dice \d\.\d{3}</g)).toHaveLength(3);
    for (const i of [0, 1, 2]) expect(html).toContain(`<span>synthetic-val-${i}</span>`);
  });

  it('fetches nothing: no external reference, and a CSP that forbids any', () => {
    expect(externalReferences(html)).toEqual([]);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
  });

  it('is written atomically: no temporary file is left', () => {
    expect(readdirSync(run.dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });
});

describe('externalReferences (negative controls)', () => {
  it.each([
    ['a script from the network', '<script src="http://cdn.example/lib.js"></script>'],
    ['an https image', '<img src="https://example.com/a.png"/>'],
    ['a protocol-relative image', "<img src='//example.com/a.png'/>"],
    ['a stylesheet link', '<link rel="stylesheet" href="style.css"/>'],
    ['a CSS url()', '<div style="background: url(http://example.com/bg.png)"></div>'],
    ['a CSS @import', '<style>@import "http://example.com/x.css";</style>'],
    ['an SVG xlink:href', '<svg><image xlink:href="http://example.com/a.png"/></svg>'],
    ['an iframe', '<iframe srcdoc="x"></iframe>'],
    ['a refresh', '<meta http-equiv="refresh" content="0; url=http://example.com"/>'],
  ])('catches %s', (_, injected) => {
    const broken = html.replace('</body>', `${injected}\n</body>`);
    expect(externalReferences(broken).length).toBeGreaterThan(0);
  });

  it('passes data: URIs, fragments and escaped text', () => {
    expect(
      externalReferences(
        '<img src="data:image/png;base64,AA=="/><a href="#x">x</a><pre>&lt;script src="http://e.x"&gt;</pre>',
      ),
    ).toEqual([]);
  });
});

describe('writeRunReport (what the train command calls)', () => {
  it('takes typed arrays for images and masks, and caps the grid at 8', async () => {
    const samples: ReportSample[] = Array.from({ length: 10 }, (_, i) => {
      const s = generateSample(i, { height: 40, width: 48 });
      return {
        name: `s${i}`,
        image: { height: 40, width: 48, channels: 1, data: s.image },
        truth: s.mask,
        predicted: i === 0 ? s.mask : new Uint8Array(40 * 48),
      };
    });
    const file = await writeRunReport({
      runDir: run.dir,
      graph: run.graph,
      specText: run.specText,
      manifest: run.manifest,
      metrics: readMetrics(run.dir),
      samples,
      generated: GENERATED,
    });
    const page = readFileSync(file, 'utf8');
    expect(tagProblems(page)).toEqual([]);
    expect(dataImages(page)).toHaveLength(24);
    expect(page).toContain('<span>s0</span><span class="dice good">Dice 1.000</span>');
    expect(page).toContain('<span>s1</span><span class="dice poor">Dice 0.000</span>');
    expect(page).not.toContain('<span>s8</span>');
  });

  it('shrinks large images to at most 256 pixels a side', async () => {
    const s = generateSample(3, { height: 600, width: 520 });
    const file = await writeRunReport({
      runDir: run.dir,
      graph: run.graph,
      specText: run.specText,
      manifest: run.manifest,
      metrics: [],
      samples: [
        {
          name: 'big',
          image: { height: 600, width: 520, channels: 1, data: s.image },
          truth: s.mask,
          predicted: s.mask,
        },
      ],
    });
    const page = readFileSync(file, 'utf8');
    expect(dataImages(page).map((p) => [p.width, p.height])).toEqual([
      [173, 200],
      [173, 200],
      [173, 200],
    ]);
    expect(page).toContain('no epochs recorded yet');
    expect(tagProblems(page)).toEqual([]);
  });
});

describe('buildRunReport on other runs', () => {
  it('writes a report with a note when the run has no model yet', async () => {
    const bare = await fakeRun({ model: false });
    cleanup.push(join(bare.dir, '..'));
    const page = readFileSync(await buildRunReport(bare.dir), 'utf8');
    expect(page).toMatch(/<p class="note">no validation images: [^<]*no model/);
    expect(dataImages(page)).toHaveLength(0);
    expect(tagProblems(page)).toEqual([]);
  });

  it("reads a folder run's validation images from data.dir, split with the run's seed", async () => {
    const folder = await fakeRun();
    cleanup.push(join(folder.dir, '..'));
    const data = join(folder.dir, '..', 'data');
    for (const sub of ['images', 'masks']) mkdirSync(join(data, sub), { recursive: true });
    for (const stem of ['a', 'b', 'c', 'd']) {
      const s = generateSample(stem.charCodeAt(0), { height: 48, width: 48 });
      await writeGray(join(data, 'images', `${stem}.png`), { width: 48, height: 48, data: s.image });
      await writeMask(join(data, 'masks', `${stem}.png`), { width: 48, height: 48, data: s.mask }, { binary: true });
    }
    const manifest = {
      ...folder.manifest,
      data: { source: data, fingerprint: 'folder', dir: data, valSplit: 0.5, train: 2, val: 2 },
    };
    const val = await validationExamples(manifest, folder.graph);
    expect(val).toHaveLength(2);
    expect(val.every((e) => ['a', 'b', 'c', 'd'].includes(e.name))).toBe(true);
    await expect(
      validationExamples({ ...manifest, data: { ...manifest.data, dir: join(data, 'gone') } }, folder.graph),
    ).rejects.toThrow();
  });

  it("regenerates a synthetic run's validation images exactly as training made them", async () => {
    const val = await validationExamples(run.manifest, run.graph);
    expect(val.map((e) => e.name)).toEqual(['synthetic-val-0', 'synthetic-val-1', 'synthetic-val-2']);
    expect([val[0]!.image.height, val[0]!.image.width]).toEqual([64, 64]);
  });

  it('fails on a folder that is not a run', async () => {
    await expect(buildRunReport(join(run.dir, 'nope'))).rejects.toThrow(/no such run folder/);
    expect(existsSync(join(run.dir, 'nope'))).toBe(false);
  });
});

describe('helpers', () => {
  it.each([
    ['<b>', '&lt;b&gt;'],
    ['a & b', 'a &amp; b'],
    [`"it's"`, '&quot;it&#39;s&quot;'],
    ['plain', 'plain'],
  ])('escapeHtml(%j)', (text, escaped) => expect(escapeHtml(text)).toBe(escaped));

  it.each([
    ['perfect', [0, 1, 1, 0], [0, 1, 1, 0], 1],
    ['both empty', [0, 0], [0, 0], 1],
    ['disjoint', [1, 0], [0, 1], 0],
    ['half', [1, 1, 0, 0], [1, 0, 0, 0], 2 / 3],
    ['255 counts as foreground', [255, 0], [1, 0], 1],
  ])('imageDice: %s', (_, predicted, truth, dice) => expect(imageDice(predicted, truth, 1)).toBeCloseTo(dice, 10));

  it.each([
    [0.61, 0.74, { lo: 0.6, hi: 0.75, ticks: [0.6, 0.65, 0.7, 0.75] }],
    [0.8, 1.05, { lo: 0.8, hi: 1.1 }],
    [1, 1, { lo: 0.95, hi: 1.05 }],
  ])('niceAxis(%d, %d)', (lo, hi, expected) => expect(niceAxis(lo, hi, 4)).toMatchObject(expected));

  it('parseMetrics skips a torn last line', () => {
    const text = `${METRICS.map((m) => JSON.stringify(m)).join('\n')}\n{"epoch": 4, "lo`;
    expect(parseMetrics(text).map((m) => m.epoch)).toEqual([1, 2, 3]);
  });

  it('prettyJson keeps short arrays on one line and round-trips', () => {
    const value = { a: [64, 64], b: { c: 'x [ y', d: undefined }, long: Array.from({ length: 30 }, (_, i) => i) };
    const text = prettyJson(value);
    expect(text).toContain('"a": [64, 64]');
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
  });
});
