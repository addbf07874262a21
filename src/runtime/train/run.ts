import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Graph } from '../../compiler/ir/types.js';
import { makeFolder, writeFileAtomic } from '../data/index.js';
import { CheckpointError, sha256, UNETC_VERSION } from '../checkpoint/index.js';
import { inputNormalization } from '../infer/model.js';
import type { TrainSettings } from './settings.js';

const encoder = new TextEncoder();

/** run.json: what produced a run, and what `--resume` needs to continue it. */
export interface RunManifest {
  readonly format: 'unetc-run';
  readonly version: 1;
  readonly spec: { readonly name: string; readonly file: string; readonly sha256: string; readonly text: string };
  /** The checked IR of the spec (runs started before it was kept lack it: see checkpoint/graph.ts). */
  readonly graph?: Graph;
  /** SHA-256 (hex) of JSON.stringify(graph). */
  readonly graphSha256?: string;
  readonly settings: TrainSettings;
  readonly data: {
    readonly source: string;
    readonly fingerprint: string;
    readonly dir?: string;
    readonly valDir?: string;
    readonly valSplit: number;
    readonly train: number;
    readonly val: number;
    readonly sliceAxis?: string;
  };
  readonly engine: string;
  /** Where the initial weights came from (`train --init`): the checkpoint and its weights' hash. */
  readonly init?: { readonly from: string; readonly weightsSha256: string };
  readonly inputNormalization: string;
  readonly versions: { readonly unetc: string; readonly tfjs: string };
  readonly created: string;
}

export const RUN_FILE = 'run.json';

/** What a run writes in its folder (report.ts and loop.ts name them too): a new run refuses to replace any it did not write. */
export const RUN_OUTPUTS = [RUN_FILE, 'metrics.jsonl', 'model.onnx', 'report.html', 'best', 'last'] as const;

export function makeRunManifest(
  spec: { name: string; file: string; text: string },
  graph: Graph,
  settings: TrainSettings,
  data: RunManifest['data'],
  engine: string,
  tfjsVersion: string,
  init?: RunManifest['init'],
): RunManifest {
  return {
    format: 'unetc-run',
    version: 1,
    spec: { ...spec, sha256: sha256(spec.text) },
    graph,
    graphSha256: sha256(JSON.stringify(graph)),
    settings,
    data,
    engine,
    ...(init ? { init } : {}),
    inputNormalization: inputNormalization(graph),
    versions: { unetc: UNETC_VERSION, tfjs: tfjsVersion },
    created: new Date().toISOString(),
  };
}

export async function writeRunManifest(dir: string, m: RunManifest): Promise<void> {
  makeFolder(dir);
  await writeFileAtomic(join(dir, RUN_FILE), encoder.encode(`${JSON.stringify(m, null, 2)}\n`));
}

/** Reads a run folder's run.json; every problem names the file. */
export function readRunManifest(dir: string): RunManifest {
  const file = join(dir, RUN_FILE);
  if (!existsSync(file))
    throw new CheckpointError(file, existsSync(dir) ? 'not a unetc run folder (no run.json)' : 'no such run folder');
  let m: RunManifest;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as RunManifest;
  } catch (e) {
    throw new CheckpointError(file, `invalid JSON: ${(e as Error).message}`);
  }
  if (m.format !== 'unetc-run' || m.version !== 1)
    throw new CheckpointError(file, 'not a unetc run manifest (format unetc-run, version 1)');
  if (m.graph !== undefined && sha256(JSON.stringify(m.graph)) !== m.graphSha256)
    throw new CheckpointError(file, `corrupt: the network (IR) it keeps does not match its recorded SHA-256`);
  return m;
}

/** runs/<name>-<yyyymmdd-hhmmss>, unique. */
export function defaultRunDir(name: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  let dir = join('runs', `${name}-${stamp}`);
  for (let i = 2; existsSync(dir); i++) dir = join('runs', `${name}-${stamp}-${i}`);
  return dir;
}
