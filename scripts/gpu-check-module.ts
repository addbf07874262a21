/**
 * `npm run gpu-check:module`: writes scripts/gpu-check/model.py, the canonical U-Net
 * (specs/unet.yaml) as `unetc compile --target pytorch` generates it, for scripts/gpu-check.sh
 * on machines without Node. A test fails when the committed file is not what this writes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceSha256 } from '../src/compiler/backends/onnx/index.js';
import { emitPytorchSource } from '../src/compiler/backends/pytorch/index.js';
import { compileSpec } from '../src/compiler/index.js';
import { UNETC_VERSION } from '../src/runtime/checkpoint/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const GPU_CHECK_MODULE = join(root, 'scripts', 'gpu-check', 'model.py');

/** scripts/gpu-check/model.py as it should read: specs/unet.yaml's generated module. */
export function gpuCheckModule(): string {
  const body = readFileSync(join(root, 'specs', 'unet.yaml'), 'utf8');
  const graph = compileSpec({ name: 'specs/unet.yaml', body }).graph!;
  return emitPytorchSource(graph, { specSha256: sourceSha256(body), producerVersion: UNETC_VERSION });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(GPU_CHECK_MODULE, gpuCheckModule());
  console.log(`wrote ${GPU_CHECK_MODULE}`);
}
