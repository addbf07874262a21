import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Tf } from '../../../compiler/backends/tfjs/engine.js';

const require = createRequire(import.meta.url);

/** tfjs-backend-wasm's setThreadsCount and getThreadsCount (what this module needs of it). */
export interface WasmThreadsApi {
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

type Emscripten = { PThread?: { runningWorkers: { unref(): void }[] } };

/** Where the thread count is kept on the backend (tfjs keeps it in a module variable of its own copy). */
const THREADS = Symbol.for('unetc.wasmThreads');

/** The threads a started 'wasm' backend computes with: 1 unless initWasmWithThreads started it. */
export function wasmThreads(tf: Tf): number {
  const backend = tf.findBackend('wasm') as unknown as { [THREADS]?: number } | null;
  return backend?.[THREADS] ?? 1;
}

/**
 * Initializes the 'wasm' backend with tfjs' threaded SIMD build and `threads` threads, in Node,
 * where tfjs 4.22 does not do it by itself (shared/FACTS.md, "Threads"):
 *
 * 1. its WASM_HAS_MULTITHREAD_SUPPORT flag is false in Node: we set it;
 * 2. it hands emscripten's pthread workers a blob: URL, which Node's Worker rejects
 *    (ERR_WORKER_PATH), and the main script as a Blob, which the worker cannot read: while the
 *    backend starts, worker_threads.Worker is a subclass that runs the same worker source (the
 *    package's wasm-out/*.worker.js exports it) with `eval: true` and gives the workers the
 *    package's own threaded-simd.js to load;
 * 3. the native init caps threads at os.cpus().length / 2 (1 on a 2-core machine): os.cpus is
 *    doubled while the backend starts;
 * 4. the thread pool's workers are ref'ed, so the process would never exit: we unref them
 *    (Node ends them at exit).
 *
 * Every patch is undone before this returns. Returns the threads the backend runs with, or 0,
 * with the backend not started, when the files it needs are missing or the threaded start fails;
 * the caller then starts the single-threaded build as before. (A start that never finishes, e.g.
 * workers that never load, cannot be recovered from here: UNETC_WASM_THREADS=1 skips this.)
 */
export async function initWasmWithThreads(tf: Tf, api: WasmThreadsApi, threads: number): Promise<number> {
  let out: string;
  try {
    out = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  } catch {
    return 0;
  }
  const workerModule = join(out, 'tfjs-backend-wasm-threaded-simd.worker.js');
  const mainScript = join(out, 'tfjs-backend-wasm-threaded-simd.js');
  if (threads < 2 || !existsSync(workerModule) || !existsSync(mainScript)) return 0;
  const source = (require(workerModule) as { wasmWorkerContents?: unknown }).wasmWorkerContents;
  if (typeof source !== 'string') return 0;
  // tfjs escapes newlines the same way before it makes its blob (they sit inside string literals).
  const workerSource = source.replace(/\n/g, '\\n');

  const wt = require('node:worker_threads') as { Worker: typeof import('node:worker_threads').Worker };
  const os = require('node:os') as { cpus: typeof import('node:os').cpus };
  const [BaseWorker, cpus] = [wt.Worker, os.cpus];
  class PathWorker extends BaseWorker {
    constructor(file: string | URL, options?: import('node:worker_threads').WorkerOptions) {
      const blob = typeof file === 'string' && file.startsWith('blob:');
      super(blob ? workerSource : file, blob ? { ...options, eval: true } : options);
    }
    override postMessage(message: unknown, transfer?: readonly import('node:worker_threads').TransferListItem[]): void {
      const m = message as { cmd?: unknown; urlOrBlob?: unknown } | null;
      if (m && m.cmd === 'load' && typeof m.urlOrBlob !== 'string') m.urlOrBlob = mainScript;
      super.postMessage(message, transfer);
    }
  }
  wt.Worker = PathWorker;
  os.cpus = () => [...cpus(), ...cpus()];
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  api.setThreadsCount(threads);
  let ok = false;
  try {
    ok = await tf.setBackend('wasm');
  } catch {
    ok = false;
  } finally {
    wt.Worker = BaseWorker;
    os.cpus = cpus;
  }
  if (ok) {
    const backend = tf.backend() as unknown as { wasm: Emscripten; [THREADS]?: number };
    for (const w of backend.wasm.PThread?.runningWorkers ?? []) w.unref();
    backend[THREADS] = api.getThreadsCount();
    return backend[THREADS];
  }
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  api.setThreadsCount(-1);
  return 0;
}
