/**
 * Will a training step fit in memory? Checked before a run starts, so a spec that cannot train
 * on this engine or machine is refused with the estimate and what would fit, instead of running
 * for minutes and dying in "Array buffer allocation failed" (or swapping for an hour).
 *
 * The estimate starts from what `inspect` counts (every op output kept for the backward pass,
 * parameters, gradients, optimizer state) and scales it by what the engine was measured to need:
 * on the wasm engine the heap peaks at about 3.75x the counted activations (gradients of the
 * activations, XNNPACK's packed filters and im2col buffers, a heap that never shrinks). Measured
 * with specs/small.yaml at 128x128, batch 2, 8 and 16: 0.65, 1.50 and 2.68 GB resident for 77,
 * 308 and 617 MB of counted activations; batch 32 (1.23 GB counted) did not finish a step.
 */
import { totalmem } from 'node:os';
import { analyze } from '../../compiler/analysis/index.js';
import type { Graph } from '../../compiler/ir/index.js';
import { inferShapes } from '../../compiler/shape/index.js';

/** Heap bytes per counted activation byte on the wasm engine (see above). */
const ACTIVATION_FACTOR = 3.75;
/** Parameters, gradients and optimizer state exist in about one more copy while an update runs. */
const PARAMETER_FACTOR = 1.5;
/** Node, tfjs and the data outside the engine's heap. */
const PROCESS_BYTES = 0.4e9;
/** wasm32 addresses 4 GiB; a little is kept for the stack and the engine itself. */
const WASM_HEAP = 0.95 * 4 * 2 ** 30;

export interface MemoryPlan {
  readonly batch: number;
  readonly patch: readonly number[];
  /** Bytes the step is estimated to need. */
  readonly needed: number;
}

export interface MemoryCheck extends MemoryPlan {
  /** The bytes it may use: the wasm heap's limit or the machine's memory, whichever is smaller. */
  readonly limit: number;
  /** What sets the limit, in words. */
  readonly limitText: string;
  readonly fits: boolean;
  /** What fits when this does not: the largest batch at this patch, and the largest patch (halved) at this batch. */
  readonly smallerBatch?: MemoryPlan;
  readonly smallerPatch?: MemoryPlan;
}

export interface TrainingShape {
  readonly batch: number;
  readonly patch: readonly number[];
  readonly optimizer: { readonly name?: string; readonly momentum?: number };
}

/** Estimated bytes for one training step at `batch` x `patch`, or undefined when the patch does not fit the network. */
export function stepBytes(
  graph: Graph,
  batch: number,
  patch: readonly number[],
  optimizer: TrainingShape['optimizer'],
): number | undefined {
  const { shapes, failure } = inferShapes(graph, ...patch);
  if (failure) return undefined;
  const m = analyze(graph, shapes, batch, optimizer).memory;
  return ACTIVATION_FACTOR * m.activations + PARAMETER_FACTOR * (m.parameters + m.gradients + m.optimizer);
}

/** The memory check for a run on `engine` (a tfjs backend name) on this machine (`machineBytes` for tests). */
export function checkTrainingMemory(
  graph: Graph,
  s: TrainingShape,
  engine: string,
  machineBytes = totalmem(),
): MemoryCheck {
  const machine = 0.85 * machineBytes - PROCESS_BYTES;
  const wasm = engine === 'wasm';
  const limit = wasm ? Math.min(WASM_HEAP, machine) : machine;
  const limitText =
    wasm && WASM_HEAP <= machine ? 'the wasm engine addresses 4 GB' : `this machine has ${gb(machineBytes)} of memory`;
  const needed = stepBytes(graph, s.batch, s.patch, s.optimizer) ?? 0;
  if (needed <= limit) return { batch: s.batch, patch: s.patch, needed, limit, limitText, fits: true };
  let smallerBatch: MemoryPlan | undefined;
  for (let b = s.batch - 1; b >= 1 && !smallerBatch; b--) {
    const n = stepBytes(graph, b, s.patch, s.optimizer);
    if (n !== undefined && n <= limit) smallerBatch = { batch: b, patch: s.patch, needed: n };
  }
  let smallerPatch: MemoryPlan | undefined;
  for (
    let patch = s.patch.map((p) => p / 2);
    patch.every((p) => Number.isInteger(p) && p >= 8) && !smallerPatch;
    patch = patch.map((p) => p / 2)
  ) {
    const n = stepBytes(graph, s.batch, patch, s.optimizer);
    if (n !== undefined && n <= limit) smallerPatch = { batch: s.batch, patch, needed: n };
  }
  return {
    batch: s.batch,
    patch: s.patch,
    needed,
    limit,
    limitText,
    fits: false,
    ...(smallerBatch ? { smallerBatch } : {}),
    ...(smallerPatch ? { smallerPatch } : {}),
  };
}

export const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(1)} GB`;

/** The refusal, in words: the estimate, the limit, and what would fit. */
export function memoryProblem(c: MemoryCheck, engine: string): string {
  const at = `batch ${c.batch}, patch ${c.patch.join('x')}`;
  const fixes = [
    ...(c.smallerBatch ? [`--batch ${c.smallerBatch.batch} (about ${gb(c.smallerBatch.needed)})`] : []),
    ...(c.smallerPatch
      ? [`train.patch [${c.smallerPatch.patch.join(', ')}] (about ${gb(c.smallerPatch.needed)})`]
      : []),
  ];
  const fit =
    fixes.length > 0
      ? `what fits: ${fixes.join(', or ')}`
      : 'not even batch 1 at half the patch fits: a smaller network (fewer filters or levels) is needed';
  return `training at ${at} needs about ${gb(c.needed)} on the ${engine} engine, more than it can have (${gb(c.limit)}: ${c.limitText}); ${fit}. (--no-memory-check tries anyway)`;
}
