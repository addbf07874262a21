import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

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
    throw Object.assign(new Error(`cannot write '${path}'`), { code: (e as NodeJS.ErrnoException).code, path });
  }
}
