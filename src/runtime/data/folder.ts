/**
 * A data set on disk: `images/` and `masks/` (and optionally `labels/`) matched by file stem:
 * `images/a.png` pairs with `masks/a.png` or `masks/a_mask.png`, and `labels/a.png` or
 * `labels/a_labels.png` (extensions case-insensitive; hidden and non-image files are ignored).
 * `scanDataset` reads every file once, checks everything a training run relies on, and collects
 * every problem (never just the first) so a user can fix a folder in one pass; only the caller
 * decides whether problems are fatal.
 */
import { listFiles } from './entries.js';
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from '../../util/error.js';
import { decodeImage, decodeMask, readBytes, type MaskEncoding, type PngBitDepth } from './png.js';

/** What the spec expects of the masks. */
export interface ScanOptions {
  /** The spec's `output.classes`: 1 or 2 accept 0/255 and 0/1 masks, 3+ class ids 0..classes-1. */
  readonly classes: number;
}

/** One usable image/mask pair. */
export interface DatasetSample {
  readonly stem: string;
  readonly image: string;
  readonly mask: string;
  /** The instance label map, when `labels/` has one. */
  readonly labels: string | undefined;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly bitDepth: PngBitDepth;
  readonly maskEncoding: MaskEncoding;
}

/** One problem, about one file or folder. */
export interface DataProblem {
  readonly path: string;
  readonly message: string;
}

/** The usable pairs, every problem found, and a fingerprint of the files read. */
export interface ScanResult {
  readonly samples: readonly DatasetSample[];
  readonly problems: readonly DataProblem[];
  /**
   * sha256 over the sorted lines `relative/path <TAB> size <TAB> sha256(content)` of every file
   * read: content hashes, so copying or touching the folder keeps it, editing a pixel changes it.
   */
  readonly fingerprint: string;
}

/** Problems as `path: message` lines, ready to print. */
export function formatProblems(problems: readonly DataProblem[]): string[] {
  return problems.map((p) => `${p.path}: ${p.message}`);
}

/** The files a data folder reads, and the formats it names as unsupported when it meets them. */
export interface FolderFormat {
  /** The extension of the files read (stripped to give the stem). */
  readonly ext: RegExp;
  /** Extensions of other images that get a problem instead of being ignored. */
  readonly other: RegExp;
  /** The problem for such a file, given its extension. */
  readonly unsupported: (ext: string) => string;
}

const PNG: FolderFormat = {
  ext: /\.png$/i,
  other: /\.(tiff?|jpe?g|bmp|gif|webp)$/i,
  unsupported: (ext) => `unsupported image format ${ext} (only PNG is read; convert it to PNG)`,
};

/**
 * The files of `dir/sub` in `format` by stem; undefined when the folder does not exist. Files
 * of another image format and a second file with the same stem are problems; the rest is ignored.
 */
export async function listByStem(
  dir: string,
  sub: string,
  format: FolderFormat,
  problems: DataProblem[],
): Promise<Map<string, string> | undefined> {
  const names = await listFiles(join(dir, sub));
  if (names === undefined) return undefined;
  const byStem = new Map<string, string>();
  for (const name of names) {
    const ext = format.ext.exec(name);
    if (!ext) {
      const other = format.other.exec(name);
      if (other) problems.push({ path: join(dir, sub, name), message: format.unsupported(other[0]) });
      continue;
    }
    const stem = name.slice(0, ext.index);
    const first = byStem.get(stem);
    if (first !== undefined)
      problems.push({ path: join(dir, sub, name), message: `same name as ${sub}/${first} (one file per name)` });
    else byStem.set(stem, name);
  }
  return byStem;
}

/** The partner of each image in a folder named `<stem>.png` or `<stem><suffix>.png`; leftovers are orphans. */
function pairUp(
  images: ReadonlyMap<string, string>,
  files: ReadonlyMap<string, string>,
  sub: string,
  suffix: string,
  dir: string,
  problems: DataProblem[],
) {
  const partner = new Map<string, string>();
  for (const [stem, name] of files) {
    const target = images.has(stem)
      ? stem
      : stem.endsWith(suffix) && images.has(stem.slice(0, -suffix.length))
        ? stem.slice(0, -suffix.length)
        : undefined;
    if (target === undefined) {
      const base = stem.endsWith(suffix) ? stem.slice(0, -suffix.length) : stem;
      problems.push({ path: join(dir, sub, name), message: `no image for this file (looked for images/${base}.png)` });
      continue;
    }
    const other = partner.get(target);
    if (other !== undefined) {
      const [a, b] = [other, name].sort() as [string, string];
      problems.push({
        path: join(dir, sub, b),
        message: `ambiguous: both ${sub}/${a} and ${sub}/${b} match images/${images.get(target)}`,
      });
    } else partner.set(target, name);
  }
  return partner;
}

function listValues(values: readonly number[]): string {
  return values.length > 6 ? `${values.slice(0, 6).join(', ')}, ...` : values.join(', ');
}

/** Why mask values do not fit the classes, or undefined when they do. */
export function maskValueProblem(
  values: readonly number[],
  encoding: MaskEncoding,
  classes: number,
): string | undefined {
  if (classes <= 2) {
    if (encoding !== 'ids') return undefined;
    const allowed = values.includes(255) ? [0, 255] : [0, 1];
    const bad = values.filter((v) => !allowed.includes(v));
    const what = bad.length === 1 ? `value ${bad[0]} does` : `values ${listValues(bad)} do`;
    return `${what} not fit a binary mask (expected 0 and 255, or 0 and 1; found ${listValues(values)})`;
  }
  const bad = values.filter((v) => v >= classes);
  if (bad.length === 0) return undefined;
  const what = bad.length === 1 ? `value ${bad[0]} does` : `values ${listValues(bad)} do`;
  return `${what} not fit ${classes} classes (expected class ids 0..${classes - 1}; found ${listValues(values)})`;
}

/**
 * Reads files of one data folder (images and volumes alike), hashing what it reads and turning
 * `DataError`s into problems; `finish` gives the samples with the problems sorted by path and
 * the folder's fingerprint.
 */
export class FolderReader {
  readonly problems: DataProblem[] = [];
  private readonly hashes: string[] = [];

  constructor(readonly dir: string) {}

  /** Decodes `sub/name` with `decode`; undefined (and a problem) when it cannot. */
  async read<T>(sub: string, name: string, decode: (bytes: Uint8Array, path: string) => T): Promise<T | undefined> {
    const path = join(this.dir, sub, name);
    try {
      const bytes = await readBytes(path);
      this.hashes.push(`${sub}/${name}\t${bytes.length}\t${createHash('sha256').update(bytes).digest('hex')}\n`);
      return decode(bytes, path);
    } catch (error) {
      if (!(error instanceof DataError)) throw error;
      this.problems.push({ path: error.path, message: error.problem });
      return undefined;
    }
  }

  finish<S>(samples: readonly S[]): { samples: readonly S[]; problems: DataProblem[]; fingerprint: string } {
    const problems = [...this.problems].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const fingerprint = createHash('sha256')
      .update([...this.hashes].sort().join(''))
      .digest('hex');
    return { samples, problems, fingerprint };
  }
}

/** Whether `dir` is a folder. */
export const isFolder = (dir: string): Promise<boolean> =>
  stat(dir)
    .then((s) => s.isDirectory())
    .catch(() => false);

const sizeOf = (r: { readonly width: number; readonly height: number }) => `${r.width}x${r.height}`;

/** Reads and checks one image with its mask and labels; the sample when all is well. */
async function scanPair(
  r: FolderReader,
  stem: string,
  name: string,
  maskName: string | undefined,
  labelName: string | undefined,
  classes: number,
): Promise<DatasetSample | undefined> {
  const before = r.problems.length;
  const image = await r.read('images', name, decodeImage);
  if (maskName === undefined) {
    r.problems.push({
      path: join(r.dir, 'images', name),
      message: `no mask (looked for masks/${stem}.png and masks/${stem}_mask.png)`,
    });
  }
  const maskPath = join(r.dir, 'masks', maskName ?? '');
  const labelPath = labelName === undefined ? undefined : join(r.dir, 'labels', labelName);
  const mask = maskName === undefined ? undefined : await r.read('masks', maskName, decodeMask);
  const labels = labelName === undefined ? undefined : await r.read('labels', labelName, decodeMask);
  // Mask values are checked even when the image is unreadable, so one pass reports both.
  const valueProblem = mask && maskValueProblem(mask.values, mask.encoding, classes);
  if (valueProblem) r.problems.push({ path: maskPath, message: valueProblem });
  for (const [other, path] of [
    [mask, maskPath],
    [labels, labelPath],
  ] as const) {
    if (image && other && path && (other.width !== image.width || other.height !== image.height)) {
      r.problems.push({
        path,
        message: `size ${sizeOf(other)} differs from its image images/${name} (${sizeOf(image)})`,
      });
    }
  }
  if (!image || !mask || r.problems.length > before) return undefined;
  const { width, height, channels, bitDepth } = image;
  return {
    stem,
    image: join(r.dir, 'images', name),
    mask: maskPath,
    labels: labelPath,
    width,
    height,
    channels,
    bitDepth,
    maskEncoding: mask.encoding,
  };
}

/** Scans a data folder; see the module comment. Never throws for problems in the data. */
export async function scanDataset(dir: string, options: ScanOptions): Promise<ScanResult> {
  if (!(Number.isInteger(options.classes) && options.classes >= 1))
    throw new RangeError(`scanDataset: classes must be a positive integer, got ${options.classes}`);
  const r = new FolderReader(dir);
  const samples: DatasetSample[] = [];
  const done = (): ScanResult => r.finish(samples);
  if (!(await isFolder(dir))) {
    r.problems.push({ path: dir, message: 'no such folder' });
    return done();
  }
  const images = await listByStem(dir, 'images', PNG, r.problems);
  const masks = await listByStem(dir, 'masks', PNG, r.problems);
  const labels = (await listByStem(dir, 'labels', PNG, r.problems)) ?? new Map<string, string>();
  for (const [sub, list] of [
    ['images', images],
    ['masks', masks],
  ] as const) {
    if (!list)
      r.problems.push({
        path: dir,
        message: `no ${sub}/ folder (expected images/ and masks/ with PNG files matched by name)`,
      });
  }
  if (!images || !masks) return done();
  if (images.size === 0) {
    r.problems.push({ path: join(dir, 'images'), message: 'no PNG images' });
    return done();
  }
  const maskOf = pairUp(images, masks, 'masks', '_mask', dir, r.problems);
  const labelsOf = pairUp(images, labels, 'labels', '_labels', dir, r.problems);
  for (const stem of [...images.keys()].sort()) {
    const sample = await scanPair(r, stem, images.get(stem)!, maskOf.get(stem), labelsOf.get(stem), options.classes);
    if (sample) samples.push(sample);
  }
  return done();
}
