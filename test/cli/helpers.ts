import { readdirSync } from 'node:fs';
import { OUTPUTS_FILE } from '../../src/runtime/data/index.js';
import type { CliIO } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

/** Runs the CLI in-process with captured output. */
export async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), color: false };
  const code = await main(argv, io);
  return { code, out, err };
}

/** The files in an output folder, sorted, without unetc's own record of them (.unetc-outputs.json). */
export function outputsIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f !== OUTPUTS_FILE)
    .sort();
}

/** Runs the CLI in-process with UNETC_PYTHON pointing at a python that does not exist (no PyTorch). */
export async function runWithoutTorch(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const saved = process.env.UNETC_PYTHON;
  process.env.UNETC_PYTHON = '/no/such/python3';
  try {
    return await run(...argv);
  } finally {
    if (saved === undefined) delete process.env.UNETC_PYTHON;
    else process.env.UNETC_PYTHON = saved;
  }
}
