import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GPU_CHECK_MODULE, gpuCheckModule } from '../../scripts/gpu-check-module.js';
import { findTorchPython } from '../../src/runtime/torch/python.js';
import { root } from '../helpers.js';

const found = findTorchPython();
const torch = typeof found === 'string' ? undefined : found;
const script = join(root, 'scripts', 'gpu_check.py');

describe('scripts/gpu-check.sh: the GPU check of the PyTorch target', () => {
  it('its module is specs/unet.yaml as compile --target pytorch generates it (npm run gpu-check:module)', () => {
    const expected = gpuCheckModule();
    expect(readFileSync(GPU_CHECK_MODULE, 'utf8')).toBe(expected);
    expect(expected).toContain("SPEC_NAME = 'unet'");
  });

  it.skipIf(!torch)('without CUDA it says so and exits 0', () => {
    const probe = spawnSync(torch!.python, ['-c', 'import torch; print(torch.cuda.is_available())'], {
      encoding: 'utf8',
    });
    if (probe.stdout.trim() === 'True') return; // a GPU machine: the check itself runs there
    const r = spawnSync(torch!.python, [script], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^no CUDA: torch \S+ sees no GPU here/);
  });

  it.skipIf(!torch)(
    '--device cpu runs every check on the CPU: forward parity, autocast, training steps',
    () => {
      const r = spawnSync(torch!.python, [script, '--device', 'cpu', '--size', '32', '--steps', '2', '--batch', '1'], {
        encoding: 'utf8',
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/forward fp32 \(cpu\) vs CPU: max\|diff\|\/max\|ref\| = \S+: ok/);
      expect(r.stdout).toMatch(/^ {2}fp32 +\d+\.\d ms\/step {2}loss \S+ -> \S+$/m);
      expect(r.stdout).toMatch(/^ {2}bf16 autocast +\d+\.\d ms\/step/m);
    },
    120_000,
  );
});
