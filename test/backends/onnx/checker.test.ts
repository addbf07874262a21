import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportOnnx } from '../../../src/compiler/backends/onnx/index.js';
import { randomWeights } from '../../../src/compiler/backends/weights.js';
import { compileFile, readSpec } from '../../helpers.js';
import { exportRandom, graphOf, tamper } from './helpers.js';
import { inlineCases, stridedGraph } from './specs.js';

/**
 * A python3 with the onnx package: Debian's python3-onnx lives under /usr/bin/python3, and a
 * pyenv or venv python3 earlier on PATH may lack it, so that one is tried first.
 */
function findPython(): string | undefined {
  for (const exe of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(exe, ['-c', 'import onnx'], { encoding: 'utf8' });
    if (r.status === 0) return exe;
  }
  return undefined;
}

const python = findPython();
const required = Boolean(process.env.CI);

/** Checks each file; prints one line per file: 'ok' or the checker's complaint. */
const CHECK = `
import sys, onnx
for path in sys.argv[1:]:
    try:
        onnx.checker.check_model(path, full_check=True)
        print('ok')
    except Exception as e:
        print('fail: ' + str(e).replace('\\n', ' ')[:200])
`;

describe('onnx.checker.check_model(full_check=True) accepts the exports', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unetc-onnx-check-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.runIf(python !== undefined || required)(
    'canonical U-Net, an explicit graph, every inline case; a broken file fails',
    () => {
      if (python === undefined)
        throw new Error(
          'python3 with the onnx package is required when CI is set: install python3-onnx (apt-get install -y python3-onnx)',
        );
      const paths: string[] = [];
      const write = (name: string, bytes: Uint8Array) => {
        const path = join(dir, `${name}.onnx`);
        writeFileSync(path, bytes);
        paths.push(path);
      };
      const unet = compileFile('specs/unet.yaml').graph!;
      write(
        'unet',
        exportOnnx(unet, randomWeights(unet, 1), {
          producerVersion: '0.0.0-test',
          specSource: readSpec('specs/unet.yaml').body,
        }),
      );
      const tiny = exportRandom(compileFile('specs/graph-tiny.yaml').graph!).bytes;
      write('graph-tiny', tiny);
      write('strided-auto-pad', exportRandom(graphOf(stridedGraph())).bytes);
      for (const c of inlineCases)
        write(
          c.name.replace(/\W+/g, '-'),
          exportRandom(graphOf(c.yaml), 7, {
            ...(c.opset ? { opset: c.opset } : {}),
            ...(c.foldBn ? { foldBn: true } : {}),
          }).bytes,
        );
      // Negative control: a node reading a tensor nobody produces must be rejected.
      write(
        'broken',
        tamper(tiny, (m) => void (m.graph!.node![0]!.input![0] = 'no_such_tensor')),
      );
      const r = spawnSync(python, ['-c', CHECK, ...paths], { encoding: 'utf8', maxBuffer: 1 << 24 });
      expect(r.stderr).toBe('');
      const lines = r.stdout.trim().split('\n');
      expect(lines.slice(0, -1)).toEqual(paths.slice(0, -1).map(() => 'ok'));
      expect(lines[lines.length - 1]).toMatch(/^fail: .*no_such_tensor/);
    },
    60_000,
  );
});
