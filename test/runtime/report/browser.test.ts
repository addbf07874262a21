/**
 * report.html in a real browser: headless Chromium (Debian's `chromium`) loads the page from a
 * file: URL with the network flags off, parses it (the DOM it builds is checked) and takes a
 * screenshot (scripts/report-screenshot.sh). Skipped where Chromium is not installed, except on
 * CI, where a missing browser fails with the install command.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRunReport } from '../../../src/runtime/report/index.js';
import { root } from '../../helpers.js';
import { fakeRun } from './fixture.js';

function findChromium(): string | undefined {
  if (process.env.CHROMIUM && existsSync(process.env.CHROMIUM)) return process.env.CHROMIUM;
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
}

const chromium = findChromium();
const INSTALL_HINT =
  'headless Chromium is needed for the report browser test: apt-get update && apt-get install -y chromium (or set CHROMIUM=/path/to/chrome)';

if (!chromium && process.env.CI) {
  describe('report.html in headless Chromium', () => {
    it('needs chromium on CI', () => {
      throw new Error(INSTALL_HINT);
    });
  });
}

describe.skipIf(!chromium)('report.html in headless Chromium', () => {
  let dir: string;
  let runDir: string;
  let profile: string;

  beforeAll(async () => {
    const run = await fakeRun({ val: 4 });
    runDir = run.dir;
    dir = join(run.dir, '..');
    await buildRunReport(runDir);
    profile = mkdtempSync(join(tmpdir(), 'unetc-chromium-profile-'));
  }, 60_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  });

  it('parses the page into the DOM it was written as', () => {
    const flags = [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
    ];
    const dom = execFileSync(chromium!, [...flags, '--dump-dom', `file://${join(runDir, 'report.html')}`], {
      encoding: 'utf8',
      timeout: 20_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(dom.match(/<svg[^>]*class="chart"/g)).toHaveLength(2);
    expect(dom.match(/<img src="data:image\/png;base64,/g)).toHaveLength(12);
    expect(dom).toContain('<div class="diagram"><svg');
    expect(dom).toContain('&lt;script src="http://evil.example/x.js"&gt;');
    expect(dom).not.toMatch(/<script/i);
  }, 30_000);

  it('takes a screenshot showing the curves and the mask overlays', () => {
    const png = join(dir, 'report.png');
    execFileSync(join(root, 'scripts/report-screenshot.sh'), [runDir, png], {
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CHROMIUM: chromium },
    });
    expect(statSync(png).size).toBeGreaterThan(50_000);
    const bytes = readFileSync(png);
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const image = decode(bytes);
    expect(image.width).toBe(1400);
    // Cropped to the page: taller than the window's first screen, shorter than the 8000 px window.
    expect(image.height).toBeGreaterThan(2000);
    expect(image.height).toBeLessThan(8000);
    const { data, channels } = image;
    const colors = new Set<number>();
    let green = 0;
    let red = 0;
    let diceLine = 0;
    for (let i = 0; i < image.width * image.height; i++) {
      const [r, g, b] = [data[i * channels]!, data[i * channels + 1]!, data[i * channels + 2]!];
      if (colors.size < 5000) colors.add((r << 16) | (g << 8) | b);
      if (g > 180 && r < 60 && b < 130) green++; // the true masks' outline (#00e65a)
      if (r > 200 && g < 70 && b < 90) red++; // chart and overlay reds
      if (Math.abs(r - 0xd1) < 12 && Math.abs(g - 0x49) < 12 && Math.abs(b - 0x5b) < 12) diceLine++; // the Dice curve (#d1495b)
    }
    expect(colors.size).toBeGreaterThan(1000);
    expect(green).toBeGreaterThan(500);
    expect(diceLine).toBeGreaterThan(200);
    expect(red + diceLine).toBeGreaterThan(200);
  }, 30_000);
});
