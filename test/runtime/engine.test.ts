import { describe, expect, it } from 'vitest';
import { EngineError, parseEngineName, selectEngine } from '../../src/runtime/backend/index.js';

describe('engine selection', () => {
  it.each([
    ['gpu', 'tfjs-node-gpu'],
    ['tfjs-node', 'tfjs-node'],
    ['WASM', 'wasm'],
    ['auto', 'auto'],
    ['tpu', undefined],
  ])('parses %s', (text, name) => {
    expect(parseEngineName(text)).toBe(name);
  });

  it('auto picks wasm here: tfjs-node(-gpu) are not installed', async () => {
    const e = await selectEngine('auto');
    expect(e.name).toBe('wasm');
    expect(e.tf.getBackend()).toBe('wasm');
  });

  it('an explicit request wins over the order', async () => {
    const e = await selectEngine('cpu');
    expect(e.name).toBe('cpu');
    expect(e.tf.getBackend()).toBe('cpu');
  });

  it('the environment variable is the default request', async () => {
    const saved = process.env.UNETC_BACKEND;
    process.env.UNETC_BACKEND = 'cpu';
    try {
      expect((await selectEngine()).name).toBe('cpu');
    } finally {
      if (saved === undefined) delete process.env.UNETC_BACKEND;
      else process.env.UNETC_BACKEND = saved;
    }
  });

  it.each([
    ['tfjs-node-gpu', /backend 'tfjs-node-gpu' cannot be loaded here: .*npm install @tensorflow\/tfjs-node-gpu/],
    ['tpu', /unknown backend 'tpu': use auto, gpu/],
  ])('asking for %s that cannot load is a clear EngineError', async (name, message) => {
    await expect(selectEngine(name)).rejects.toThrow(EngineError);
    await expect(selectEngine(name)).rejects.toThrow(message);
  });
});
