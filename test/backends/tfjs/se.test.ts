import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildModel,
  GLOBAL_POOL_CLASS_NAME,
  SCALE_CLASS_NAME,
  seLayerClasses,
  setWeights,
} from '../../../src/compiler/backends/tfjs/index.js';
import { randomWeights } from '../../../src/compiler/backends/weights.js';
import { graphOf, outputShape, randomInput, smallSize, tf, unetYaml, useCpu } from './helpers.js';

beforeAll(useCpu);

/** Squeeze-excitation's two custom layers and a residual + SE U-Net through a tfjs save/load round trip. */
describe('squeeze-excitation layers', () => {
  it('UnetcGlobalAvgPool averages over H and W and keeps them as 1', () => {
    const pool = new (seLayerClasses(tf).GlobalAvgPool)({ name: 'gap' });
    // [1, 2, 2, 2]: channel 0 holds 0, 2, 4, 6 (mean 3); channel 1 holds 1, 3, 5, 7 (mean 4).
    const y = pool.apply(tf.tensor([0, 1, 2, 3, 4, 5, 6, 7], [1, 2, 2, 2])) as tf.Tensor;
    expect(y.shape).toEqual([1, 1, 1, 2]);
    expect(Array.from(y.dataSync())).toEqual([3, 4]);
  });

  it('UnetcChannelScale multiplies every pixel of a channel by its gate', () => {
    const scale = new (seLayerClasses(tf).ChannelScale)({ name: 'scale' });
    const y = scale.apply([
      tf.tensor([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]),
      tf.tensor([10, 0.5], [1, 1, 1, 2]),
    ]) as tf.Tensor;
    expect(y.shape).toEqual([1, 2, 2, 2]);
    expect(Array.from(y.dataSync())).toEqual([10, 1, 30, 2, 50, 3, 70, 4]);
  });

  it('UnetcChannelScale multiplies every channel of a pixel by a 1-channel map (attention gates)', () => {
    const scale = new (seLayerClasses(tf).ChannelScale)({ name: 'scale_att' });
    const y = scale.apply([
      tf.tensor([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]),
      tf.tensor([10, 0.5, 0, 1], [1, 2, 2, 1]),
    ]) as tf.Tensor;
    expect(y.shape).toEqual([1, 2, 2, 2]);
    expect(Array.from(y.dataSync())).toEqual([10, 20, 1.5, 2, 0, 0, 7, 8]);
  });

  it('both work with unknown H and W at build time', () => {
    const x = tf.input({ shape: [null, null, 3] });
    const { GlobalAvgPool, ChannelScale } = seLayerClasses(tf);
    const g = new GlobalAvgPool({ name: 'gap_sym' }).apply(x) as tf.SymbolicTensor;
    expect(g.shape).toEqual([null, 1, 1, 3]);
    expect((new ChannelScale({ name: 'scale_sym' }).apply([x, g]) as tf.SymbolicTensor).shape).toEqual([
      null,
      null,
      null,
      3,
    ]);
  });
});

describe('a residual U-Net with squeeze-excitation in tfjs', () => {
  const graph = graphOf(unetYaml({ block: '{padding: valid, residual: true, se: 2}' }));

  it('builds, predicts the promised shape, and saves and loads bit-identically', async () => {
    const model = buildModel(tf, graph);
    setWeights(model, randomWeights(graph, 5));
    const [h, w] = smallSize(graph, 40);
    const x = randomInput([1, h, w, 1]);
    const before = model.predict(x) as tf.Tensor;
    const s = outputShape(graph, h, w);
    expect(before.shape).toEqual([1, s.h, s.w, s.c]);

    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(
        async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }),
      ),
    );
    const topology = JSON.stringify(artifacts!.modelTopology);
    expect(topology).toContain(GLOBAL_POOL_CLASS_NAME);
    expect(topology).toContain(SCALE_CLASS_NAME);
    const loaded = await tf.loadLayersModel({ load: async () => artifacts! });
    const after = loaded.predict(x) as tf.Tensor;
    expect(Array.from(after.dataSync())).toEqual(Array.from(before.dataSync()));

    // Negative control: the same comparison tells a model with other weights apart.
    setWeights(loaded, randomWeights(graph, 6), tf);
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).not.toEqual(Array.from(before.dataSync()));
    model.dispose();
    loaded.dispose();
  });
});
