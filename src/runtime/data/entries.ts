import type { Dirent } from 'node:fs';
import { statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
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

/** The visible files (and links to files) of a folder, sorted; undefined when the folder cannot be read. */
export async function listFiles(dir: string): Promise<string[] | undefined> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => isFileEntry(dir, e) && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  } catch {
    return undefined;
  }
}
