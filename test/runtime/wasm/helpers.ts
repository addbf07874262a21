import type { Tensor } from '@tensorflow/tfjs';
import { selectEngine, type Tf } from '../../../src/runtime/backend/index.js';
import { Random } from '../../../src/util/random.js';

/**
 * The tfjs namespace with the wasm engine loaded through selectEngine (so the training kernels
 * are registered the way the CLI gets them) and the cpu backend available as the reference.
 */
export async function wasmTf(): Promise<Tf> {
  const engine = await selectEngine('wasm');
  return engine.tf;
}

/** Runs `f` on one backend and returns its result as plain numbers; every tensor made is freed. */
export function on(tf: Tf, backend: 'wasm' | 'cpu', f: () => Tensor): Float32Array {
  const previous = tf.getBackend();
  tf.setBackend(backend);
  try {
    return tf.tidy(f).dataSync() as Float32Array;
  } finally {
    tf.setBackend(previous);
  }
}

/** Seeded normal values, as plain data so both backends get the same numbers. */
export function normal(size: number, seed: number): Float32Array {
  const rng = new Random(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.normal();
  return out;
}

/** max |a - b| / max |b|: the error measure of shared/FACTS.md (1e-4 separates right from wrong). */
export function relError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / (scale || 1);
}

/** `data` with every value moved by 1% of the largest one (a negative control's wrong input). */
export function perturbed(data: Float32Array, seed: number): Float32Array {
  const rng = new Random(seed);
  const scale = data.reduce((m, v) => Math.max(m, Math.abs(v)), 0) * 0.01;
  return data.map((v) => v + rng.normal() * scale);
}

/** The wasm backend's live data blocks and heap size: what leaks would grow. */
export function wasmFootprint(tf: Tf): { dataIds: number; heapBytes: number } {
  const backend = tf.findBackend('wasm') as unknown as { numDataIds(): number; wasm: { HEAPU8: Uint8Array } };
  return { dataIds: backend.numDataIds(), heapBytes: backend.wasm.HEAPU8.buffer.byteLength };
}
