import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { DataError } from '../../util/error.js';

/**
 * Writes a file atomically: a temporary file next to it, then a rename, so readers never see
 * half a file and a failed write leaves nothing behind. The folder must exist. A failure is an
 * Error with the errno `code` and the `path` the caller named (not the temporary one).
 */
export function writeFileAtomicSync(path: string, text: string | Uint8Array): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw Object.assign(new Error(`cannot write '${path}'`, { cause: e }), {
      code: (e as NodeJS.ErrnoException).code,
      path,
    });
  }
}

let tempCounter = 0;

/**
 * The same, asynchronously (masks, label maps, NIfTI files, the report): a failure is a DataError
 * naming `path` and saying why.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${++tempCounter}.tmp`);
  try {
    await writeFile(temp, bytes);
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'the folder does not exist' : (errnoText(code) ?? String(error));
    throw new DataError(path, `cannot write: ${why}`, { cause: error });
  }
}

// ENOENT is left to each caller: what is missing depends on what it was doing.
const WHY: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'over the disk quota',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'it is a folder',
};

/** An errno code in words (the one table for every write unetc reports), or undefined for one not listed. */
export const errnoText = (code: string | undefined): string | undefined => (code === undefined ? undefined : WHY[code]);

/**
 * `mkdir -p` that always ends: Node's recursive mkdir loops for ever where a parent cannot hold
 * folders (/proc/x spins at 100% CPU), so this one walks up to the first existing folder and
 * creates each level below it once. A failure is a DataError naming the folder that could not be
 * made and why (read-only, permission, a file in the way, ...).
 */
export function makeFolder(dir: string): void {
  const missing: string[] = [];
  let at = resolve(dir);
  for (;;) {
    let isDir: boolean | undefined;
    try {
      isDir = statSync(at).isDirectory();
    } catch {
      isDir = undefined;
    }
    if (isDir === true) break;
    if (isDir === false) throw new DataError(at, `is a file, so the folder ${dir} cannot be created`);
    missing.push(at);
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  for (const folder of missing.reverse()) {
    try {
      mkdirSync(folder);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (code === 'EEXIST') continue;
      const why = code === 'ENOENT' ? 'it cannot be created there' : (WHY[code] ?? (e as Error).message);
      throw new DataError(folder, `cannot create this folder: ${why}`, { cause: e });
    }
  }
}
