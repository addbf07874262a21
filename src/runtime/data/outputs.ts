/**
 * unetc never overwrites a file it did not write, unless told to (`--overwrite`).
 *
 * Before a command writes anything, it asks which of its outputs are in the way
 * (`outputsInTheWay`): a path that exists is in the way unless unetc wrote it. unetc knows its own
 * files two ways. An output folder (predict's --out, a tfjs export) keeps a small manifest,
 * `.unetc-outputs.json`, of what unetc wrote there, each with its size and modification time: a
 * mask a user corrected by hand is theirs again. A single file written into a user's folder (an
 * ONNX export, a tfjs export's files, eval's CSV, a diagram) carries its maker in its content
 * instead (signedByUnetc), so nothing is left beside it. Commands claim a folder's outputs before the first write (so an
 * interrupted run can be repeated into the same folder) and record them after the last
 * (`recordOutputs`). One mechanism for predict, eval, train, compile, fmt and viz.
 */
import { closeSync, existsSync, lstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { onnxProducer } from '../../compiler/backends/onnx/index.js';
import { SVG_MARK } from '../../compiler/viz/index.js';
import { basename, dirname, join, resolve } from 'node:path';
import { DataError } from './png.js';
import { writeFileAtomicSync } from './atomic.js';

export const OUTPUTS_FILE = '.unetc-outputs.json';

const FORMAT = 'unetc-outputs';

/** What the manifest says of one name: claimed (about to be written) or written (size and time). */
interface Entry {
  readonly size?: number;
  readonly mtimeMs?: number;
  readonly folder?: boolean;
}

interface Manifest {
  readonly format: typeof FORMAT;
  readonly version: 1;
  readonly files: Record<string, Entry>;
}

/** The manifest of `dir`; an absent or unreadable one lists nothing (so nothing there is unetc's). */
function readManifest(dir: string): Manifest {
  try {
    const m = JSON.parse(readFileSync(join(dir, OUTPUTS_FILE), 'utf8')) as Partial<Manifest>;
    if (m.format === FORMAT && typeof m.files === 'object' && m.files !== null)
      return { format: FORMAT, version: 1, files: { ...m.files } };
  } catch {
    // Absent or damaged: treated as empty.
  }
  return { format: FORMAT, version: 1, files: {} };
}

/** Why `path` (which exists) may not be overwritten, or undefined when unetc wrote it and it is unchanged. */
function whyInTheWay(path: string, manifest: Manifest): string | undefined {
  const entry = manifest.files[basename(path)];
  if (entry === undefined) return signedByUnetc(path) ? undefined : 'not written by unetc';
  if (entry.size === undefined && entry.folder === undefined) return undefined; // claimed by a run that did not finish: its own output
  const s = statSync(path);
  if (entry.folder === true || s.isDirectory())
    return entry.folder === true && s.isDirectory() ? undefined : 'not written by unetc';
  return entry.size === s.size && entry.mtimeMs === s.mtimeMs ? undefined : 'changed since unetc wrote it';
}

/** The files of a tfjs checkpoint (runtime/checkpoint's FILES) and the module a tfjs export carries. */
const CHECKPOINT_FILES = ['model.json', 'weights.bin', 'unetc.json', 'unetc-layers.js'];

/**
 * A checkpoint folder that `compile --target tfjs` wrote: its unetc.json is a unetc manifest
 * with no training step. A training checkpoint (run/best/, run/last/) records its step: it holds
 * trained weights, and an export is never written over it without --overwrite.
 */
function isExport(dir: string): boolean {
  try {
    const m = JSON.parse(readFileSync(join(dir, 'unetc.json'), 'utf8')) as { format?: unknown; step?: unknown };
    return m.format === 'unetc-checkpoint' && m.step === undefined;
  } catch {
    return false;
  }
}

/** The first lines of the CSV files unetc writes (eval's scores, predict's instances.csv). */
const CSV_HEADS = ['file,height,width,', 'volume,dice,iou,', 'file,count,mean_'];

/**
 * Single files that unetc writes into a user's folders (an export, scores, a diagram) say so in
 * their content, so no manifest is left beside them: an ONNX model whose producer is unetc, the
 * files of a tfjs export, a CSV with one of unetc's headers, an SVG with unetc's mark.
 */
function signedByUnetc(path: string): boolean {
  let head: Buffer;
  try {
    if (!statSync(path).isFile()) return false;
    const fd = openSync(path, 'r');
    try {
      head = Buffer.alloc(512);
      head = head.subarray(0, readSync(fd, head, 0, head.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
  const name = path.toLowerCase();
  if (CHECKPOINT_FILES.includes(basename(name))) return isExport(dirname(path));
  if (name.endsWith('.onnx')) return onnxProducer(head) === 'unetc';
  if (name.endsWith('.csv')) return CSV_HEADS.some((h) => head.toString('utf8').startsWith(h));
  if (name.endsWith('.svg')) return head.toString('utf8').includes(SVG_MARK);
  return false;
}

const exists = (path: string) => {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
};

/** The paths among `paths` that exist and that unetc did not write (or that changed since), each with the reason. */
export function outputsInTheWay(paths: readonly string[]): Array<{ readonly path: string; readonly why: string }> {
  const manifests = new Map<string, Manifest>();
  const found: Array<{ path: string; why: string }> = [];
  for (const path of paths) {
    if (!exists(path)) continue;
    const dir = dirname(resolve(path));
    let m = manifests.get(dir);
    if (m === undefined) manifests.set(dir, (m = readManifest(dir)));
    const why = whyInTheWay(path, m);
    if (why !== undefined) found.push({ path, why });
  }
  return found;
}

/**
 * Throws a DataError naming the outputs in the way (the first five, and how many more) unless
 * `overwrite`; `what` says what would have been written ("masks", "the export").
 */
export function guardOutputs(
  paths: readonly string[],
  options: { readonly overwrite?: boolean; readonly what?: string } = {},
): void {
  if (options.overwrite === true) return;
  const blocked = outputsInTheWay(paths);
  if (blocked.length === 0) return;
  const first = blocked[0]!;
  const listed = blocked
    .slice(0, 5)
    .map((b) => `  ${b.path} (${b.why})`)
    .join('\n');
  const more = blocked.length > 5 ? `\n  ... and ${blocked.length - 5} more` : '';
  const subject = blocked.length === 1 ? 'it exists' : `${blocked.length} files there exist`;
  throw new DataError(
    first.path,
    `${subject} and unetc did not write ${blocked.length === 1 ? 'it' : 'them'}; refusing to overwrite${options.what ? ` with ${options.what}` : ''}:\n${listed}${more}\n` +
      `choose another output, or pass --overwrite to replace ${blocked.length === 1 ? 'it' : 'them'}`,
  );
}

/**
 * Records `paths` in their folders' manifests: `claimed` before they are written (no size yet),
 * else as written now (size and modification time, so a later change by hand is noticed).
 */
export function recordOutputs(paths: readonly string[], options: { readonly claimed?: boolean } = {}): void {
  const byDir = new Map<string, string[]>();
  for (const p of paths) {
    const dir = dirname(resolve(p));
    byDir.set(dir, [...(byDir.get(dir) ?? []), p]);
  }
  for (const [dir, files] of byDir) {
    if (!existsSync(dir)) continue;
    const m = readManifest(dir);
    for (const p of files) {
      const name = basename(p);
      if (options.claimed === true) {
        m.files[name] = {};
        continue;
      }
      if (!exists(p)) continue;
      const s = statSync(p);
      m.files[name] = s.isDirectory() ? { folder: true } : { size: s.size, mtimeMs: s.mtimeMs };
    }
    writeFileAtomicSync(join(dir, OUTPUTS_FILE), `${JSON.stringify(m, null, 1)}\n`);
  }
}

/** guardOutputs, then recordOutputs(claimed): the usual start of a command that writes files. */
export function claimOutputs(
  paths: readonly string[],
  options: { readonly overwrite?: boolean; readonly what?: string } = {},
): void {
  guardOutputs(paths, options);
  recordOutputs(paths, { claimed: true });
}

/**
 * The first two inputs that would write one output (names compared ignoring case, as on macOS
 * and Windows): `a.png`'s label map is `a_labels.png`, which is also the mask of an input named
 * `a_labels.png`. undefined when every output has one writer.
 */
export function outputClash(
  files: readonly string[],
  namesOf: (file: string) => readonly string[],
): { readonly file: string; readonly other: string; readonly name: string } | undefined {
  const writers = new Map<string, string>();
  for (const file of files) {
    for (const name of namesOf(file)) {
      const other = writers.get(name.toLowerCase());
      if (other !== undefined && other !== file) return { file, other, name };
      writers.set(name.toLowerCase(), file);
    }
  }
  return undefined;
}
