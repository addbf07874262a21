/**
 * Models that ship with unetc (`models/<name>/`): `unetc predict nuclei` runs one with no
 * training, `unetc train --init nuclei` starts from its weights. A path that exists always wins
 * over a shipped name, so a user's own folder called `nuclei` is never shadowed.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's models/ folder (src/runtime/checkpoint and dist/runtime/checkpoint sit three levels below the root). */
export const MODELS_DIR = fileURLToPath(new URL('../../../models/', import.meta.url));

/** Names of the shipped models. */
export function shippedModels(): string[] {
  if (!existsSync(MODELS_DIR)) return [];
  return readdirSync(MODELS_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(MODELS_DIR, e.name, 'model.onnx')))
    .map((e) => e.name)
    .sort();
}

/**
 * What a MODEL argument names: the path itself when it exists, else the shipped model of that
 * name (its folder: model.onnx, checkpoint/, spec.yaml, MODEL.md), else the path unchanged (the
 * caller's loader then says it does not exist).
 */
export function resolveModel(arg: string): { path: string; shipped?: string } {
  if (existsSync(arg) || !/^[a-z][a-z0-9-]*$/.test(arg)) return { path: arg };
  const dir = join(MODELS_DIR, arg);
  return existsSync(join(dir, 'model.onnx')) ? { path: dir, shipped: arg } : { path: arg };
}

/**
 * The checkpoint folder behind an `--init` argument: a checkpoint folder itself, a run folder's
 * best/ (else last/), or a shipped model's checkpoint/. Undefined when there is none.
 */
export function checkpointDirOf(path: string): string | undefined {
  if (!existsSync(path) || !statSync(path).isDirectory()) return undefined;
  for (const sub of ['', 'best', 'checkpoint', 'last']) {
    if (existsSync(join(path, sub, 'unetc.json'))) return join(path, sub);
  }
  return undefined;
}
