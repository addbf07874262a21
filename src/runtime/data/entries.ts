import type { Dirent } from 'node:fs';
import { statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Whether a folder entry is a file to read: a regular file, or a symbolic link to one (data sets
 * are often links into a shared store). A broken link is not.
 */
export function isFileEntry(dir: string, e: Dirent): boolean {
  if (e.isFile()) return true;
  if (!e.isSymbolicLink()) return false;
  try {
    return statSync(join(dir, e.name)).isFile();
  } catch {
    return false;
  }
}
