import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  claimOutputs,
  DataError,
  guardOutputs,
  outputClash,
  outputsInTheWay,
  recordOutputs,
} from '../../../src/runtime/data/index.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'unetc-outputs-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fresh = (name: string) => {
  const d = join(dir, name);
  mkdirSync(d);
  return d;
};

describe('outputs unetc may replace', () => {
  it('a missing path is never in the way', () => {
    expect(outputsInTheWay([join(fresh('none'), 'x.png')])).toEqual([]);
  });

  it('a file unetc did not write is in the way; --overwrite lets it through', () => {
    const d = fresh('user');
    writeFileSync(join(d, 'x.png'), 'the user');
    expect(outputsInTheWay([join(d, 'x.png'), join(d, 'y.png')])).toEqual([
      { path: join(d, 'x.png'), why: 'not written by unetc' },
    ]);
    expect(() => guardOutputs([join(d, 'x.png')])).toThrow(DataError);
    expect(() => guardOutputs([join(d, 'x.png')])).toThrow(
      /x\.png: it exists and unetc did not write it; refusing to overwrite[\s\S]*--overwrite/,
    );
    expect(() => guardOutputs([join(d, 'x.png')], { overwrite: true })).not.toThrow();
  });

  it('a file unetc wrote and recorded may be replaced, until someone changes it', () => {
    const d = fresh('own');
    const f = join(d, 'm.png');
    writeFileSync(f, 'mask');
    recordOutputs([f]);
    expect(outputsInTheWay([f])).toEqual([]);
    // Edited by hand (another size and time): the user's now.
    writeFileSync(f, 'corrected mask');
    utimesSync(f, new Date(2020, 1, 1), new Date(2020, 1, 1));
    expect(outputsInTheWay([f])).toEqual([{ path: f, why: 'changed since unetc wrote it' }]);
  });

  it('claimed outputs of an interrupted run are its own: the rerun may replace them', () => {
    const d = fresh('claimed');
    const f = join(d, 'a.png');
    claimOutputs([f]);
    writeFileSync(f, 'half a run');
    expect(outputsInTheWay([f])).toEqual([]);
    // Negative control: an unclaimed neighbour is still in the way.
    writeFileSync(join(d, 'b.png'), 'user');
    expect(outputsInTheWay([join(d, 'b.png')])).toHaveLength(1);
  });

  it('a folder is replaceable only when recorded as one', () => {
    const d = fresh('folders');
    mkdirSync(join(d, 'best'));
    expect(outputsInTheWay([join(d, 'best')])).toHaveLength(1);
    recordOutputs([join(d, 'best')]);
    expect(outputsInTheWay([join(d, 'best')])).toEqual([]);
  });

  it('lists five of many, and how many more', () => {
    const d = fresh('many');
    const files = Array.from({ length: 8 }, (_, i) => join(d, `${i}.png`));
    for (const f of files) writeFileSync(f, 'x');
    expect(() => guardOutputs(files, { what: 'masks' })).toThrow(
      /8 files there exist[\s\S]*4\.png[\s\S]*\.\.\. and 3 more/,
    );
  });
});

describe('outputClash', () => {
  const namesOf = (f: string) => [`${f}.png`, `${f}_labels.png`, `${f}_prob.png`];
  it('finds two inputs writing one output, ignoring case', () => {
    expect(outputClash(['a', 'a_labels'], namesOf)).toEqual({ file: 'a_labels', other: 'a', name: 'a_labels.png' });
    expect(outputClash(['b', 'B'], namesOf)).toEqual({ file: 'B', other: 'b', name: 'B.png' });
  });
  it('negative control: distinct outputs', () => {
    expect(outputClash(['a', 'b', 'c_x'], namesOf)).toBeUndefined();
  });
});
