import { availableParallelism } from 'node:os';
import { registerGrad3d } from './grad3d.js';
import { registerCpuKernelFixes, registerWasmTrainingKernels } from './wasm/index.js';
import { initWasmWithThreads, wasmThreads, type WasmThreadsApi } from './wasm/threads.js';
import type { Tf } from '../../compiler/backends/tfjs/engine.js';
import { UnetcError } from '../../util/error.js';

/** The tfjs namespace (one definition, a leaf module); an engine may bring its own copy (tfjs-node re-exports tfjs). */
export type { Tf };

export type EngineName = 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu';

/** Tried in this order when nothing is asked for: the fastest engine that loads wins. */
export const engineOrder: readonly EngineName[] = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'];

const aliases: Record<string, EngineName | 'auto'> = {
  auto: 'auto',
  gpu: 'tfjs-node-gpu',
  'tfjs-node-gpu': 'tfjs-node-gpu',
  node: 'tfjs-node',
  'tfjs-node': 'tfjs-node',
  wasm: 'wasm',
  cpu: 'cpu',
};

export interface Engine {
  readonly name: EngineName;
  readonly tf: Tf;
  /** Threads the engine computes with (as far as it tells). */
  readonly threads: number;
  /** For the "engine:" line commands print. */
  readonly description: string;
}

/** An engine that was asked for by name but cannot be loaded here (exit 1, with the reason). */
export class EngineError extends UnetcError {
  constructor(problem: string) {
    super(undefined, problem);
  }
}

/** 'gpu' -> 'tfjs-node-gpu'; undefined for an unknown name. */
export function parseEngineName(text: string): EngineName | 'auto' | undefined {
  return aliases[text.trim().toLowerCase()];
}

/** The accepted names, for usage messages. */
export const engineNames = Object.keys(aliases);

type Loader = () => Promise<Engine>;

async function loadNode(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node', name: EngineName): Promise<Engine> {
  // Optional peers: absent on most machines, and their native library may fail to load (no CUDA).
  const tf = (await import(pkg)) as unknown as Tf;
  await tf.ready();
  if (tf.getBackend() !== 'tensorflow') throw new Error(`${pkg} loaded but its 'tensorflow' backend is not active`);
  // 3D U-Nets: the conv3dTranspose gradient and rank-5 BatchNormalization (grad3d.ts).
  registerGrad3d(tf);
  return {
    name,
    tf,
    threads: availableParallelism(),
    description: `${name} (libtensorflow${name === 'tfjs-node-gpu' ? ', CUDA' : ''})`,
  };
}

async function loadJs(backend: 'wasm' | 'cpu'): Promise<Engine> {
  const tf = await import('@tensorflow/tfjs');
  // Only silences tfjs' console banners (e.g. "install the node backend"): the library must not print.
  tf.env().set('PROD', true);
  if (backend === 'wasm') {
    const api = (await import('@tensorflow/tfjs-backend-wasm')) as WasmThreadsApi;
    // tfjs starts only its single-threaded build in Node; threads.ts starts the threaded one
    // (one thread per core up to the 8 workers emscripten preallocates; UNETC_WASM_THREADS=n
    // asks for n, and 1 keeps the single-threaded build).
    const wanted = Number(process.env.UNETC_WASM_THREADS ?? Math.min(8, availableParallelism()));
    if (tf.findBackend('wasm') === null && wanted > 1) await initWasmWithThreads(tf, api, Math.floor(wanted));
  }
  if (!(await tf.setBackend(backend))) throw new Error(`the ${backend} backend did not initialize`);
  await tf.ready();
  // tfjs-backend-wasm lacks Conv2DBackpropFilter (it cannot train without it) and has a slow
  // Conv2DBackpropInput: install ours before anything runs.
  if (backend === 'wasm') registerWasmTrainingKernels(tf);
  // The cpu backend is always present (the fallback, and the wasm tests' reference): fix it too.
  registerCpuKernelFixes(tf);
  // 3D U-Nets on every engine: the conv3dTranspose gradient and rank-5 BatchNormalization.
  registerGrad3d(tf);
  const threads = backend === 'wasm' ? wasmThreads(tf) : 1;
  const plural = threads === 1 ? 'thread' : 'threads';
  return {
    name: backend,
    tf,
    threads,
    description:
      backend === 'wasm' ? `wasm (tfjs WebAssembly, SIMD, ${threads} ${plural})` : 'cpu (tfjs pure JavaScript, slow)',
  };
}

const loaders: Record<EngineName, Loader> = {
  'tfjs-node-gpu': () => loadNode('@tensorflow/tfjs-node-gpu', 'tfjs-node-gpu'),
  'tfjs-node': () => loadNode('@tensorflow/tfjs-node', 'tfjs-node'),
  wasm: () => loadJs('wasm'),
  cpu: () => loadJs('cpu'),
};

const installHint: Record<EngineName, string> = {
  'tfjs-node-gpu': 'install it with `npm install @tensorflow/tfjs-node-gpu` on a machine with CUDA',
  'tfjs-node': 'install it with `npm install @tensorflow/tfjs-node`',
  wasm: 'reinstall unetc (npm ci): @tensorflow/tfjs-backend-wasm is one of its dependencies',
  cpu: 'reinstall unetc (npm ci)',
};

/**
 * Picks the compute engine: the one asked for (flag, then the UNETC_BACKEND variable), or the
 * first of tfjs-node-gpu, tfjs-node, wasm, cpu that loads. Asking for one that cannot load is
 * an EngineError naming why.
 */
export async function selectEngine(requested: string | undefined = process.env.UNETC_BACKEND): Promise<Engine> {
  const name = requested === undefined || requested === '' ? 'auto' : parseEngineName(requested);
  if (name === undefined) throw new EngineError(`unknown backend '${requested}': use ${engineNames.join(', ')}`);
  if (name !== 'auto') {
    try {
      return await loaders[name]();
    } catch (e) {
      throw new EngineError(`backend '${name}' cannot be loaded here: ${firstLine(e)}; ${installHint[name]}`);
    }
  }
  const failures: string[] = [];
  for (const candidate of engineOrder) {
    try {
      return await loaders[candidate]();
    } catch (e) {
      failures.push(`${candidate}: ${firstLine(e)}`);
    }
  }
  throw new EngineError(`no tfjs engine could be loaded (${failures.join('; ')})`);
}

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0]!;
}
