/**
 * `compile --static-size` files run in OpenCV DNN (Debian's python3-opencv, 4.6): one fixed input
 * size, batch 1, skip crops as constant Slices. Every shipped 2D spec's file is run in OpenCV
 * (test/python/opencv_run.py) and in onnxruntime on the same seeded input, within 1e-4 (issue
 * 11). Negative control: the ordinary export of the valid-padding U-Net (run-time Shape/Slice
 * crops) does not load in OpenCV. Skipped without python3 + cv2, except on CI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileSpec } from '../../src/compiler/index.js';
import { closeOnnxSession, createOnnxSession, runOnnx } from '../../src/runtime/infer/onnx.js';
import { compare, randomInput, verificationSizes } from '../../src/runtime/verify/parity.js';
import { root } from '../helpers.js';
import { run } from './helpers.js';

function findPython(): string | undefined {
  for (const exe of ['/usr/bin/python3', 'python3'])
    if (spawnSync(exe, ['-c', 'import cv2, numpy'], { encoding: 'utf8' }).status === 0) return exe;
  return undefined;
}

const python = findPython();
const script = join(root, 'test', 'python', 'opencv_run.py');
const specs2d = readdirSync(join(root, 'specs'))
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .filter((f) => compileSpec({ name: f, body: readFileSync(join(root, 'specs', f), 'utf8') }).graph?.dims === 2);

if (!python && process.env.CI) {
  describe('static-size exports in OpenCV', () => {
    it('needs python3-opencv on CI', () => {
      throw new Error('OpenCV for Python is needed: apt-get update && apt-get install -y python3-opencv');
    });
  });
}

describe.skipIf(!python)('compile --static-size: the file runs in OpenCV DNN as in onnxruntime', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unetc-opencv-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** OpenCV's output for `file` on `input` (NCHW), or its error. */
  function inOpenCv(
    file: string,
    input: Float32Array,
    dims: readonly number[],
  ): { data?: Float32Array; error?: string } {
    const source = join(dir, 'input.f32');
    const target = join(dir, 'output.f32');
    writeFileSync(source, input);
    const r = spawnSync(python!, [script, file, source, dims.join(','), target], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (r.status !== 0) return { error: `${r.stderr}` };
    const bytes = readFileSync(target);
    return { data: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) };
  }

  it.each(specs2d)(
    '%s',
    async (file) => {
      const graph = compileSpec({ name: file, body: readFileSync(join(root, 'specs', file), 'utf8') }).graph!;
      const size = verificationSizes(graph)[0]!;
      const onnx = join(dir, `${basename(file, '.yaml')}.onnx`);
      const r = await run(
        'compile',
        join(root, 'specs', file),
        '--target',
        'onnx',
        '-o',
        onnx,
        '--static-size',
        size.join('x'),
      );
      expect(r.code, r.err).toBe(0);
      const c = graph.inputChannels;
      const dims = [1, c, ...size];
      // NCHW directly: the values are seeded noise, their layout does not matter here.
      const input = randomInput(1, size[0]! * size[1]!, 1, c, 3);
      const session = await createOnnxSession(onnx, { threads: 1 });
      const reference = (await runOnnx(session, input, dims)).data;
      await closeOnnxSession(session);
      const cv = inOpenCv(onnx, input, dims);
      expect(cv.error).toBeUndefined();
      const diff = compare(reference, cv.data!);
      expect(diff.relative, `max|diff| ${diff.maxAbsDiff}`).toBeLessThanOrEqual(1e-4);
    },
    180_000,
  );

  it('negative control: the dynamic-size export of the valid-padding U-Net does not load in OpenCV', async () => {
    const onnx = join(dir, 'dynamic-2015.onnx');
    expect(
      (await run('compile', join(root, 'specs', 'unet-2015.yaml'), '--target', 'onnx', '-o', onnx, '--no-verify')).code,
    ).toBe(0);
    const cv = inOpenCv(onnx, new Float32Array(188 * 188), [1, 1, 188, 188]);
    expect(cv.error).toMatch(/Shape|dynamic/);
  }, 180_000);

  it('a size the network does not take is refused with the sizes that work', async () => {
    const r = await run(
      'compile',
      join(root, 'specs', 'tiny.yaml'),
      '--target',
      'onnx',
      '-o',
      join(dir, 'bad.onnx'),
      '--static-size',
      '100x100',
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error\[E401\]: input 100x100 \(from --static-size\) does not fit/);
  });
});
