import { afterAll, describe, expect, it } from 'vitest';
import { exportOnnx } from '../../../src/compiler/backends/onnx/index.js';
import { randomWeights } from '../../../src/compiler/backends/weights.js';
import { inferShapes } from '../../../src/compiler/index.js';
import { closeOnnxSession, createOnnxSession, runOnnx, type OnnxSession } from '../../../src/runtime/infer/index.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseOptions, exportRandom, graphOf, inputOf, twoSizes } from './helpers.js';
import { inlineCases } from './specs.js';

describe('exported models run in onnxruntime-node at two valid sizes', () => {
  it.each(inlineCases)('$name', async ({ yaml, opset, foldBn }) => {
    const graph = graphOf(yaml);
    const { bytes } = exportRandom(graph, 7, { ...(opset ? { opset } : {}), ...(foldBn ? { foldBn } : {}) });
    const session = await createOnnxSession(bytes, { threads: 1 });
    try {
      for (const [h, w] of twoSizes(graph)) {
        const out = await runOnnx(session, inputOf(2, graph.inputChannels, h, w), [2, graph.inputChannels, h, w]);
        const shape = inferShapes(graph, h, w).shapes.get('output')!;
        expect(out.dims, `${h}x${w}`).toEqual([2, shape.c, shape.h, shape.w]);
        expect(out.data.every(Number.isFinite)).toBe(true);
        if (graph.activation === 'softmax') {
          const hw = shape.h * shape.w;
          for (let n = 0; n < 2; n++)
            for (let p = 0; p < hw; p++) {
              let sum = 0;
              for (let c = 0; c < shape.c; c++) sum += out.data[(n * shape.c + c) * hw + p]!;
              expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
            }
        }
      }
    } finally {
      await closeOnnxSession(session);
    }
  });
});

describe('the ONNX runtime wrapper', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unetc-onnx-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const graph = graphOf(inlineCases[0]!.yaml);
  const bytes = exportOnnx(graph, randomWeights(graph, 3), baseOptions);

  it('loads from a path and from bytes alike', async () => {
    const path = join(dir, 'model.onnx');
    writeFileSync(path, bytes);
    const results: Float32Array[] = [];
    for (const source of [path, bytes]) {
      const s: OnnxSession = await createOnnxSession(source);
      results.push((await runOnnx(s, inputOf(1, 1, 8, 8), [1, 1, 8, 8])).data);
      await closeOnnxSession(s);
    }
    expect(results[0]).toEqual(results[1]);
  });

  it.each([
    ['truncated bytes', () => bytes.slice(0, 1000), /cannot load ONNX model from model bytes \(1000 bytes\): /],
    ['garbage bytes', () => new Uint8Array([1, 2, 3, 4, 5]), /cannot load ONNX model from model bytes/],
    ['a missing file', () => join(dir, 'nope.onnx'), /cannot load ONNX model from '.*nope\.onnx': /],
  ])('turns %s into a clear Error', async (_name, source, message) => {
    await expect(createOnnxSession(source())).rejects.toThrow(message);
  });

  it('rejects a thread count that is not a positive integer', async () => {
    await expect(createOnnxSession(bytes, { threads: 0 })).rejects.toThrow(/threads must be a positive integer, got 0/);
  });

  it('rejects input of the wrong length, and reports a size the model cannot take', async () => {
    const s = await createOnnxSession(bytes, { threads: 1 });
    await expect(runOnnx(s, new Float32Array(10), [1, 1, 8, 8])).rejects.toThrow(
      /input has 10 values, but dims \[1, 1, 8, 8\] need 64/,
    );
    await expect(runOnnx(s, inputOf(1, 1, 6, 6), [1, 1, 6, 6])).rejects.toThrow(
      /ONNX inference failed for input \[1, 1, 6, 6\]/,
    );
    await closeOnnxSession(s);
  });
});
