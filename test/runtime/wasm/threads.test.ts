import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./fixtures/engine-exit.ts', import.meta.url));

/** Runs the fixture in a fresh Node process (tsx, as the CLI runs in development). */
function run(env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fixture], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return {
    status: r.status,
    signal: r.signal,
    result: line.startsWith('{')
      ? (JSON.parse(line) as { threads: number; description: string; first: number })
      : undefined,
    stderr: r.stderr,
  };
}

describe('the wasm engine in Node', () => {
  it('starts one thread per core (threaded build) and the process exits by itself', () => {
    const r = run({});
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.result?.first).toBe(64);
    const expected = Math.min(8, availableParallelism());
    expect(r.result?.threads).toBe(expected);
    expect(r.result?.description).toContain(`${expected} thread`);
  });

  it('keeps the single-threaded build with UNETC_WASM_THREADS=1', () => {
    const r = run({ UNETC_WASM_THREADS: '1' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.result).toMatchObject({ threads: 1, first: 64 });
    expect(r.result?.description).toContain('1 thread)');
  });
});
