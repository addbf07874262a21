/**
 * The python3 that runs unetc's PyTorch side: UNETC_PYTHON when set, else the first of
 * `python3` and Debian's `/usr/bin/python3` (another python3 earlier on PATH can lack the
 * Debian packages) that imports torch and numpy. Its scripts live in the package's python/
 * folder, put on PYTHONPATH for every call.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { UnetcError } from '../../util/error.js';

/** python/ of the package (holds unetc_torch). */
export const PYTHON_PACKAGE_ROOT = fileURLToPath(new URL('../../../python/', import.meta.url));

export interface TorchPython {
  /** The command that runs it. */
  readonly python: string;
  /** torch.__version__ */
  readonly torch: string;
  /** CUDA devices it sees. */
  readonly cudaDevices: number;
}

/** What to do when no python with torch is found. */
export const INSTALL_TORCH =
  'install PyTorch and numpy for python3 (Debian: apt-get install python3-torch python3-numpy; elsewhere: pip install torch numpy), or set UNETC_PYTHON to a python that has them';

/** A python3 that imports torch and numpy, or why there is none (a sentence without the advice). */
export function findTorchPython(env: NodeJS.ProcessEnv = process.env): TorchPython | string {
  const candidates = env.UNETC_PYTHON ? [env.UNETC_PYTHON] : ['python3', '/usr/bin/python3'];
  const found: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import numpy, torch; print(torch.__version__, torch.cuda.device_count())'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    const [version = '', devices = '0'] = r.stdout?.trim().split(/\s+/) ?? [];
    if (r.status === 0) return { python, torch: version, cudaDevices: Number(devices) || 0 };
    found.push(r.error ? `${python} (not found)` : `${python} (no torch or numpy)`);
  }
  return `no python3 with torch and numpy: tried ${found.join(', ')}`;
}

/** Raised when a python step fails: its last line of output says why. */
export class TorchError extends UnetcError {
  constructor(problem: string) {
    super(undefined, problem);
  }
}

/** Runs `python -m module args...` with unetc's python/ on PYTHONPATH; throws TorchError on failure. */
export function runPythonModule(
  py: TorchPython,
  module: string,
  args: readonly string[],
  what: string,
): SpawnSyncReturns<string> {
  const path = [PYTHON_PACKAGE_ROOT, process.env.PYTHONPATH].filter((p) => p).join(':');
  const r = spawnSync(py.python, ['-m', module, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { ...process.env, PYTHONPATH: path },
  });
  if (r.status !== 0) {
    const last = `${r.stderr}\n${r.stdout}`
      .trim()
      .split('\n')
      .filter((l) => l.trim() !== '');
    throw new TorchError(`${what} failed (${py.python}, exit ${r.status ?? r.signal}): ${last.at(-1) ?? 'no output'}`);
  }
  return r;
}
