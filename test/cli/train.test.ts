import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from './helpers.js';
import { generateSample, writeGray, writeMask } from '../../src/runtime/data/index.js';
import { root, scratchDir } from '../helpers.js';

const tiny = join(root, 'specs/tiny.yaml');
const tmp = () => scratchDir('unetc-train-');
const metrics = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { epoch: number; step: number; val_dice: number });

/** Starts the CLI in a child process; resolves when `ready` holds, with a handle to stop it. */
function child(args: string[]) {
  const p = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/cli/run-cli.ts'), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    p.on('exit', (code, signal) => resolve(signal === 'SIGKILL' ? -9 : code)),
  );
  const until = async (ready: () => boolean) => {
    for (let i = 0; i < 600 && !ready(); i++) await new Promise((r) => setTimeout(r, 100));
  };
  return { p, exited, until, output: () => out };
}

describe('unetc train', () => {
  it('trains on the built-in data and writes a complete run folder', async () => {
    const dir = join(tmp(), 'run');
    const r = await run('train', tiny, '--out', dir, '--epochs', '2', '--steps-per-epoch', '4');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^engine: wasm/m);
    expect(r.out).toMatch(/epoch 2: loss [\d.]+, validation Dice [\d.]+/);
    expect(readdirSync(dir).sort()).toEqual(['best', 'last', 'metrics.jsonl', 'model.onnx', 'report.html', 'run.json']);
    expect(metrics(dir).map((m) => [m.epoch, m.step])).toEqual([
      [1, 4],
      [2, 8],
    ]);
    const manifest = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as {
      spec: { sha256: string };
      inputNormalization: string;
      data: { fingerprint: string };
    };
    expect(manifest.inputNormalization).toBe('zscore-per-image');
    expect(manifest.data.fingerprint).toMatch(/^synthetic:/);
    expect(r.out).toMatch(/onnxruntime parity \S+ at/);
  });

  it('kill -9, then --resume: the run finishes and its metrics continue the same series', async () => {
    const dir = join(tmp(), 'run');
    const c = child(['train', tiny, '--out', dir, '--epochs', '5', '--steps-per-epoch', '3', '--no-export']);
    await c.until(() => existsSync(join(dir, 'metrics.jsonl')) && metrics(dir).length >= 2);
    c.p.kill('SIGKILL');
    expect(await c.exited).toBe(-9);
    const before = metrics(dir).length;
    expect(before).toBeGreaterThanOrEqual(2);
    expect(before).toBeLessThan(5);

    const r = await run('train', '--resume', dir);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/resuming .* at step \d+/);
    expect(metrics(dir).map((m) => [m.epoch, m.step])).toEqual([1, 2, 3, 4, 5].map((e) => [e, 3 * e]));
    expect(existsSync(join(dir, 'model.onnx'))).toBe(true);
  });

  it('Ctrl-C writes a checkpoint and exits 130 with how to continue', async () => {
    const dir = join(tmp(), 'run');
    const c = child(['train', tiny, '--out', dir, '--epochs', '50', '--steps-per-epoch', '2', '--no-export']);
    await c.until(() => existsSync(join(dir, 'metrics.jsonl')));
    c.p.kill('SIGINT');
    expect(await c.exited).toBe(130);
    expect(c.output()).toMatch(/interrupted at step \d+/);
    expect(c.output()).toContain(`continue with: unetc train --resume ${dir}`);
    const state = JSON.parse(readFileSync(join(dir, 'last', 'train-state.json'), 'utf8')) as { step: number };
    expect(state.step).toBeGreaterThan(0);
  });

  it('a malformed flag is a usage error before anything loads (no engine start-up, no run folder)', async () => {
    const dir = join(tmp(), 'run');
    for (const flag of [
      ['--lr', 'abc'],
      ['--time', '5x'],
      ['--batch', '0'],
      ['--val-split', '1'],
    ]) {
      const r = await run('train', tiny, '--out', dir, ...flag);
      expect(r.code, flag.join(' ')).toBe(2);
      expect(r.err).toMatch(new RegExp(`^error: ${flag[0]} takes`));
      expect(r.out).not.toMatch(/engine:/);
      expect(existsSync(dir)).toBe(false);
    }
    // Negative control: a well-formed flag gets as far as the engine.
    const ok = await run('train', tiny, '--out', dir, '--lr', '0.01', '--dry-run');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/engine:/);
  });

  it('--dry-run checks everything and keeps nothing', async () => {
    const cwd = tmp();
    const r = await run('train', tiny, '--dry-run', '--out', join(cwd, 'run'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('dry run: the spec, the data and one training step and validation work');
    expect(existsSync(join(cwd, 'run'))).toBe(false);
  });

  it('every data problem is reported with its file before anything trains', async () => {
    const data = tmp();
    mkdirSync(join(data, 'images'));
    mkdirSync(join(data, 'masks'));
    for (const name of ['a', 'b', 'c']) {
      const s = generateSample(name.charCodeAt(0), { height: 64, width: 64 });
      await writeGray(join(data, 'images', `${name}.png`), { height: 64, width: 64, data: s.image });
      if (name !== 'b') await writeMask(join(data, 'masks', `${name}.png`), { height: 64, width: 64, data: s.mask });
    }
    writeFileSync(join(data, 'images', 'c.png'), readFileSync(join(data, 'images', 'c.png')).subarray(0, 40));
    // d: a binary spec's mask with a value that is neither 0 nor 255.
    const d = generateSample(7, { height: 64, width: 64 });
    await writeGray(join(data, 'images', 'd.png'), { height: 64, width: 64, data: d.image });
    const odd = Uint8Array.from(d.mask, (v) => v * 255);
    odd[5] = 128;
    await writeMask(join(data, 'masks', 'd.png'), { height: 64, width: 64, data: odd }, { binary: false });
    const out = join(tmp(), 'run');
    const r = await run('train', tiny, '--data', data, '--out', out);
    expect(r.code).toBe(1);
    expect(r.err).toContain(join(data, 'images', 'b.png'));
    expect(r.err).toContain(join(data, 'images', 'c.png'));
    expect(r.err).toMatch(new RegExp(`${join(data, 'masks', 'd.png').replace(/[.]/g, '\\.')}: .*128`));
    expect(r.err).toMatch(/nothing was trained/);
    expect(existsSync(out)).toBe(false);
  });

  it('a folder that already holds a run is refused (no overwrite)', async () => {
    const dir = join(tmp(), 'run');
    expect((await run('train', tiny, '--out', dir, '--max-steps', '1', '--no-export')).code).toBe(0);
    const again = await run('train', tiny, '--out', dir);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/already holds a run: continue it with --resume/);
  });
});

describe('resume continues the same run', () => {
  it('stopped mid-epoch by --max-steps, resumed: the same losses and validation as an uninterrupted run (dropout masks seeded per step)', async () => {
    const dir = tmp();
    const spec = tiny;
    expect(readFileSync(tiny, 'utf8')).toContain('dropout: 0.1');
    const args = ['--epochs', '2', '--steps-per-epoch', '2', '--no-export'];
    expect((await run('train', spec, '--out', join(dir, 'whole'), ...args)).code).toBe(0);
    expect((await run('train', spec, '--out', join(dir, 'parts'), ...args, '--max-steps', '3')).code).toBe(0);
    const resumed = await run('train', '--resume', join(dir, 'parts'), '--epochs', '9');
    expect(resumed.code).toBe(0);
    expect(resumed.err).toContain('--epochs ignored: a resumed run keeps its own settings');
    type Line = { loss: number; val_dice: number };
    const lines = (d: string) =>
      readFileSync(join(dir, d, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Line);
    const [whole, parts] = [lines('whole'), lines('parts')];
    expect(parts).toHaveLength(2);
    // Equal up to float rounding (Adam's restored beta powers are recomputed, not carried).
    for (const [a, b] of whole.map((w, i) => [w, parts[i]!] as const)) {
      expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5);
      expect(Math.abs(a.val_dice - b.val_dice)).toBeLessThan(1e-4);
    }
    // Two fresh runs of a spec with dropout are the same run.
    expect((await run('train', spec, '--out', join(dir, 'again'), ...args)).code).toBe(0);
    expect(
      readFileSync(join(dir, 'again', 'last', 'weights.bin')).equals(
        readFileSync(join(dir, 'whole', 'last', 'weights.bin')),
      ),
    ).toBe(true);
    // Negative control: another seed is another run.
    expect((await run('train', spec, '--out', join(dir, 'other'), ...args, '--seed', '1')).code).toBe(0);
    expect(Math.abs(lines('other')[1]!.loss - whole[1]!.loss)).toBeGreaterThan(1e-4);
  }, 240_000);
});

describe('resume refuses or recovers instead of training the wrong thing (issue 11)', () => {
  it('a spec with another network is refused up front, naming the first differing layer; the run is untouched', async () => {
    const dir = join(tmp(), 'run');
    expect(
      (await run('train', tiny, '--out', dir, '--epochs', '1', '--steps-per-epoch', '2', '--no-export')).code,
    ).toBe(0);
    const before = readFileSync(join(dir, 'last', 'weights.bin'));
    const other = join(tmp(), 'wider.yaml');
    writeFileSync(other, readFileSync(tiny, 'utf8').replace(/base: 8/, 'base: 12'));
    expect(readFileSync(other, 'utf8')).not.toBe(readFileSync(tiny, 'utf8'));
    const r = await run('train', other, '--resume', dir, '--max-steps', '4');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /wider\.yaml: cannot resume .* the run was trained from a different network .*: .* has '.*12.*' where/,
    );
    expect(r.err).toContain(`--init ${dir}`);
    expect(readFileSync(join(dir, 'last', 'weights.bin')).equals(before)).toBe(true);
    // Negative control: a spec that differs only in a comment resumes, with the run's own spec.
    const commented = join(tmp(), 'commented.yaml');
    writeFileSync(commented, `# a note\n${readFileSync(tiny, 'utf8')}`);
    const ok = await run('train', commented, '--resume', dir, '--max-steps', '3');
    expect(ok.code).toBe(0);
    expect(ok.err).toMatch(
      /differs from the spec the run started with \(not in the network\); resuming with the run's own spec/,
    );
  }, 120_000);

  it('a run killed before its first checkpoint (only run.json left) starts again from step 0 and ends as an uninterrupted run', async () => {
    const base = tmp();
    const args = ['--epochs', '1', '--steps-per-epoch', '2', '--no-export'];
    expect((await run('train', tiny, '--out', join(base, 'whole'), ...args)).code).toBe(0);
    const killed = join(base, 'killed');
    expect((await run('train', tiny, '--out', killed, ...args)).code).toBe(0);
    // What kill -9 in epoch 1 leaves: run.json, nothing else.
    for (const f of readdirSync(killed))
      if (f !== 'run.json') rmSync(join(killed, f), { recursive: true, force: true });
    const r = await run('train', '--resume', killed);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/stopped before its first checkpoint, so it starts again from step 0/);
    expect(
      readFileSync(join(killed, 'last', 'weights.bin')).equals(
        readFileSync(join(base, 'whole', 'last', 'weights.bin')),
      ),
    ).toBe(true);
    expect(metrics(killed).map((m) => m.step)).toEqual(metrics(join(base, 'whole')).map((m) => m.step));
    // Negative control: a damaged last/ is named, not silently restarted.
    writeFileSync(join(killed, 'last', 'weights.bin'), 'garbage');
    const damaged = await run('train', '--resume', killed);
    expect(damaged.code).toBe(1);
    expect(damaged.err).toMatch(/last\/weights\.bin/);
  }, 120_000);
});
