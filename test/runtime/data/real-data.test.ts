import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanDataset } from '../../../src/runtime/data/folder.js';
import { readImage, readMask } from '../../../src/runtime/data/png.js';
import { root } from '../../helpers.js';

/** The DSB2018 slice next to the repository (../shared/data); never copied into it. */
const dir = join(root, '..', 'shared', 'data', 'dsb2018-nuclei-mini');
const present = existsSync(join(dir, 'index.json'));

describe.skipIf(!present)('real DSB2018 nuclei (../shared/data/dsb2018-nuclei-mini)', () => {
  const index = present
    ? (JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
        name: string;
        h: number;
        w: number;
        nuclei: number;
      }[])
    : [];

  it.each(index.slice(0, 3).map((e) => [e.name, e] as const))(
    '%s: 8-bit gray image, 0/255 mask, 16-bit labels that agree',
    async (name, entry) => {
      const image = await readImage(join(dir, 'images', `${name}.png`));
      const mask = await readMask(join(dir, 'masks', `${name}.png`));
      const labels = await readMask(join(dir, 'labels', `${name}.png`));
      expect([image.width, image.height, image.channels, image.bitDepth]).toEqual([entry.w, entry.h, 1, 8]);
      expect([mask.encoding, mask.bitDepth, labels.bitDepth]).toEqual(['binary-max', 8, 16]);
      expect(labels.values.length - 1).toBe(entry.nuclei);
      let disagree = 0;
      for (let p = 0; p < mask.data.length; p++) if (mask.data[p] !== (labels.data[p]! > 0 ? 1 : 0)) disagree++;
      expect(disagree).toBe(0);
      expect(Math.max(...image.data)).toBeLessThanOrEqual(1);
    },
  );

  it('scans as a clean binary data set', async () => {
    const { samples, problems, fingerprint } = await scanDataset(dir, { classes: 1 });
    expect(problems).toEqual([]);
    expect(samples.length).toBe(index.length);
    expect(samples.every((s) => s.labels !== undefined)).toBe(true);
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });
});
