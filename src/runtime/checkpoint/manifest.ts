import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Graph } from '../../compiler/ir/types.js';
import { CheckpointError } from './error.js';

/** The files of a checkpoint directory. */
export const FILES = { model: 'model.json', weights: 'weights.bin', manifest: 'unetc.json' } as const;

export const CHECKPOINT_FORMAT = 'unetc-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** unetc.json: what produced the weights, so a checkpoint can be traced and checked. */
export interface CheckpointManifest {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly version: typeof CHECKPOINT_VERSION;
  readonly spec: {
    readonly name: string;
    readonly file?: string;
    /** SHA-256 (hex) of `text`. */
    readonly sha256: string;
    /** The spec's full text, so the checkpoint is self-contained. */
    readonly text: string;
  };
  /**
   * The checked IR the spec compiled to when the weights were saved: what the runtime builds and
   * runs from, without the compiler's front end. Checkpoints written before it was kept lack it
   * (see recordedGraph in graph.ts).
   */
  readonly graph?: Graph;
  /** SHA-256 (hex) of JSON.stringify(graph). */
  readonly graphSha256?: string;
  readonly seed: number;
  /** SHA-256 (hex) of weights.bin. */
  readonly weightsSha256: string;
  /** The unetc version that wrote it (package.json). */
  readonly unetc: string;
  /** The tfjs version that wrote it. */
  readonly tfjs: string;
  /** The tfjs backend that trained it ('cpu', 'wasm', 'tensorflow', ...). */
  readonly engine: string;
  readonly step?: number;
  readonly epoch?: number;
  /**
   * SHA-256 (hex) of every other file in the directory (model.json and whatever the writer added,
   * such as a training run's optimizer state), so each one read back is verified. Checkpoints
   * written before unetc 0.1.0 lack it.
   */
  readonly files?: Readonly<Record<string, string>>;
}

/** What the caller of saveCheckpoint says; hashes and versions are filled in. */
export interface CheckpointInfo {
  readonly spec: { readonly name: string; readonly file?: string; readonly text: string };
  /** The checked IR of `spec` (kept in unetc.json). */
  readonly graph: Graph;
  readonly seed: number;
  /** Default: the current tfjs backend. */
  readonly engine?: string;
  readonly step?: number;
  readonly epoch?: number;
}

export const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** The package version. Same relative path from src/runtime/checkpoint and dist/runtime/checkpoint. */
export const UNETC_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/**
 * Checks that unetc.json's parsed value is a manifest this version can read; the error says which
 * field is wrong. `file` is the path used in messages.
 */
export function validateManifest(value: unknown, file: string): CheckpointManifest {
  const m = value as Partial<Record<keyof CheckpointManifest, unknown>> | null;
  if (typeof m !== 'object' || m === null || Array.isArray(m) || m.format !== CHECKPOINT_FORMAT) {
    const found =
      typeof m === 'object' && m !== null && 'format' in m
        ? `format is ${JSON.stringify(m.format)}`
        : 'no format field';
    throw new CheckpointError(
      file,
      `not a unetc checkpoint manifest (expected format "${CHECKPOINT_FORMAT}", ${found})`,
    );
  }
  if (m.version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(
      file,
      `unsupported checkpoint version ${JSON.stringify(m.version)} (this unetc reads version ${CHECKPOINT_VERSION})`,
    );
  }
  const spec = m.spec as Record<string, unknown> | undefined;
  const bad = (field: string, expected: string) => new CheckpointError(file, `field '${field}' should be ${expected}`);
  if (typeof spec !== 'object' || spec === null) throw bad('spec', 'an object {name, sha256, text}');
  for (const k of ['name', 'sha256', 'text'] as const)
    if (typeof spec[k] !== 'string') throw bad(`spec.${k}`, 'a string');
  if (spec.file !== undefined && typeof spec.file !== 'string') throw bad('spec.file', 'a string');
  for (const k of ['weightsSha256', 'unetc', 'tfjs', 'engine'] as const)
    if (typeof m[k] !== 'string') throw bad(k, 'a string');
  if (typeof m.seed !== 'number') throw bad('seed', 'a number');
  for (const k of ['step', 'epoch'] as const)
    if (m[k] !== undefined && typeof m[k] !== 'number') throw bad(k, 'a number');
  if (m.files !== undefined) {
    const files = m.files as Record<string, unknown> | null;
    if (
      typeof files !== 'object' ||
      files === null ||
      Array.isArray(files) ||
      Object.values(files).some((h) => typeof h !== 'string')
    )
      throw bad('files', 'an object {file: sha256}');
  }
  // The spec's text is hashed too: a damaged unetc.json cannot pass off another spec as the one trained.
  if (sha256(spec.text as string) !== spec.sha256)
    throw new CheckpointError(
      file,
      `corrupt: the spec text it keeps does not match its recorded SHA-256 (${(spec.sha256 as string).slice(0, 12)}...)`,
    );
  // And the IR, when it keeps one (both or neither).
  if ((m.graph === undefined) !== (m.graphSha256 === undefined))
    throw bad(
      m.graph === undefined ? 'graph' : 'graphSha256',
      'present (unetc.json keeps the IR and its SHA-256 together)',
    );
  if (m.graph !== undefined && sha256(JSON.stringify(m.graph)) !== m.graphSha256)
    throw new CheckpointError(
      file,
      `corrupt: the network (IR) it keeps does not match its recorded SHA-256 (${String(m.graphSha256).slice(0, 12)}...)`,
    );
  return m as unknown as CheckpointManifest;
}

/**
 * Checks a file of the checkpoint in `dir` against the SHA-256 its manifest records (when it
 * records one) and returns its bytes; CheckpointError naming the file when it is missing or damaged.
 */
export function readVerified(dir: string, name: string, manifest: CheckpointManifest): Buffer {
  const file = join(dir, name);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(file, code === 'ENOENT' ? 'missing' : `cannot read: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const expected = manifest.files?.[name];
  if (expected !== undefined) {
    const actual = sha256(bytes);
    if (actual !== expected)
      throw new CheckpointError(
        file,
        `corrupt: its SHA-256 is ${actual.slice(0, 12)}..., but ${FILES.manifest} records ${expected.slice(0, 12)}...`,
      );
  }
  return bytes;
}

/**
 * Throws a CheckpointError when `specText` is not the spec the checkpoint was trained from
 * (compared by SHA-256 of the exact text, so any edit counts, comments and whitespace included).
 */
export function checkSpecMatches(manifest: CheckpointManifest, specText: string, specFile?: string): void {
  const given = sha256(specText);
  if (given === manifest.spec.sha256) return;
  const trained = `'${manifest.spec.name}'${manifest.spec.file ? ` (${manifest.spec.file})` : ''}, sha256 ${manifest.spec.sha256.slice(0, 12)}`;
  throw new CheckpointError(
    FILES.manifest,
    `the checkpoint was trained from a different spec: it records spec ${trained}, but ${specFile ?? 'the given spec'} has sha256 ${given.slice(0, 12)}; ` +
      `use the spec it was trained from (unetc.json keeps its text) or retrain`,
  );
}
