/**
 * The built-in default data: seeded fluorescence-microscopy-like images of cell nuclei with
 * binary masks and instance label maps, calibrated on the DSB2018 fluorescence slice (dark
 * background of 1-6% of the range, nuclei at 10-65%, 5-80 nuclei of 60-450 px per 256x256 image).
 *
 * A scene is drawn first (how many nuclei, how big, how bright, how blurred, how noisy), then its
 * nuclei are placed and rasterized, shaded with texture and nucleoli, blurred by the PSF, lit
 * unevenly and passed through a camera model. Each stage has its own random stream (`seedFor`),
 * so the same seed gives the same bytes and the layout does not depend on the noise draws.
 */
import { Random, seedFor } from '../../util/random.js';
import { placeNuclei, rasterize, type Layout, type Nucleus } from './nuclei.js';
import { addCameraNoise, gaussianBlur, illuminationField, textureField } from './optics.js';

/** The kind of field of view: most are `typical`; a few dense (many small), sparse (few large) or empty. */
export type Scene = 'typical' | 'dense' | 'sparse' | 'empty';

/** Size and optional overrides of a generated sample. */
export interface SyntheticOptions {
  readonly height: number;
  readonly width: number;
  /** Force a scene kind (default: drawn, about 68% typical, 15% dense, 15% sparse, 2% empty). */
  readonly scene?: Scene;
  /** Nuclei to try to place (default: from the scene's foreground fraction and nucleus size). */
  readonly count?: number;
  /** Round intensities to 8-bit levels like the real PNGs (default true). */
  readonly quantize?: boolean;
}

/** One generated image with its ground truth, all row-major H*W. */
export interface SyntheticSample {
  readonly height: number;
  readonly width: number;
  /** Intensities in [0, 1]. */
  readonly image: Float32Array;
  /** 1 on nuclei, 0 elsewhere; always equal to labels > 0. */
  readonly mask: Uint8Array;
  /** 0 background, 1..count one id per nucleus. */
  readonly labels: Uint16Array;
  readonly count: number;
  readonly scene: Scene;
}

interface SceneParams {
  readonly scene: Scene;
  readonly layout: Layout;
  readonly brightness: number;
  /** Log-normal spread of brightness between the nuclei of one image (some dim, some bright). */
  readonly spread: number;
  readonly background: number;
  readonly blur: number;
  readonly texture: number;
  readonly textureScale: number;
  readonly illumination: number;
  readonly photons: number;
  readonly read: number;
}

const logUniform = (rng: Random, lo: number, hi: number): number => Math.exp(rng.uniform(Math.log(lo), Math.log(hi)));

/** Every scene parameter is drawn unconditionally, so overriding one option shifts no other draw. */
function drawScene(rng: Random, options: SyntheticOptions): SceneParams {
  const u = rng.next();
  const scene: Scene = options.scene ?? (u < 0.02 ? 'empty' : u < 0.17 ? 'dense' : u < 0.32 ? 'sparse' : 'typical');
  const t = rng.next();
  const f = rng.next();
  const [radius, fg] =
    scene === 'dense'
      ? [4.5 + 2 * t, 0.05 + 0.07 * f]
      : scene === 'sparse'
        ? [9 + 6 * t, 0.015 + 0.055 * f]
        : [5 + 5 * t, 0.02 + 0.12 * f];
  const area = options.height * options.width;
  const drawnCount = Math.max(1, Math.round((fg * area) / (Math.PI * radius * radius)));
  const layout: Layout = {
    radius,
    count: scene === 'empty' ? 0 : (options.count ?? drawnCount),
    irregularity: rng.uniform(0.3, 1),
    elongation: rng.uniform(1.3, 2.2),
    clustering: rng.next() < 0.4 ? 0 : rng.uniform(0.3, 0.8),
    touching: scene === 'dense' ? rng.uniform(0.2, 0.5) : rng.uniform(0.05, 0.3),
  };
  return {
    scene,
    layout,
    brightness: logUniform(rng, 0.11, 0.55),
    background: logUniform(rng, 0.006, 0.055),
    blur: rng.uniform(0.7, 1.7),
    texture: rng.uniform(0.05, 0.3),
    textureScale: rng.uniform(0.7, 1.6),
    illumination: rng.uniform(0, 0.35),
    photons: logUniform(rng, 800, 8000),
    read: rng.uniform(0.0008, 0.004),
    spread: rng.uniform(0.15, 0.5),
  };
}

/** Per-nucleus shading: brightness, edge falloff, texture strength and nucleoli / chromocenters. */
interface Shade {
  readonly brightness: number;
  readonly falloff: number;
  readonly texture: number;
  readonly spots: readonly { readonly x: number; readonly y: number; readonly s2: number; readonly depth: number }[];
}

function drawShade(rng: Random, n: Nucleus, p: SceneParams): Shade {
  const spots = Array.from({ length: n.condensed ? 0 : Math.floor(rng.uniform(0, 3.5)) }, () => {
    const r = 0.55 * Math.min(n.a, n.b) * Math.sqrt(rng.next());
    const th = rng.uniform(0, 2 * Math.PI);
    const s = rng.uniform(0.12, 0.25) * Math.min(n.a, n.b);
    return { x: n.cx + r * Math.cos(th), y: n.cy + r * Math.sin(th), s2: 2 * s * s, depth: rng.uniform(-0.35, 0.5) };
  });
  const brightness =
    p.brightness * Math.min(2.5, Math.max(0.25, Math.exp(p.spread * rng.normal()))) * (n.condensed ? 2.2 : 1);
  const falloff = n.condensed ? 0.1 : rng.uniform(0, 0.45);
  return { brightness, falloff, texture: p.texture * rng.uniform(0.5, 1.5) * (n.condensed ? 0.3 : 1), spots };
}

/** Dim, broad, unlabelled blobs: out-of-focus nuclei from other planes (background haze). */
function addGhosts(rng: Random, signal: Float32Array, height: number, width: number, p: SceneParams): void {
  const n = rng.next() < 0.35 ? 1 + Math.floor(rng.next() * 3) : 0;
  for (let i = 0; i < n; i++) {
    const cx = rng.uniform(0, width);
    const cy = rng.uniform(0, height);
    const s = p.layout.radius * rng.uniform(1, 2);
    const amp = p.brightness * rng.uniform(0.05, 0.15);
    const reach = Math.ceil(3 * s);
    for (let y = Math.max(0, Math.floor(cy - reach)); y <= Math.min(height - 1, cy + reach); y++) {
      for (let x = Math.max(0, Math.floor(cx - reach)); x <= Math.min(width - 1, cx + reach); x++) {
        const q = y * width + x;
        signal[q] = (signal[q] ?? 0) + amp * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s));
      }
    }
  }
}

/** Generates one sample; the same seed and options give identical bytes. */
export function generateSample(seed: number, options: SyntheticOptions): SyntheticSample {
  const { height, width } = options;
  if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) {
    throw new RangeError(`generateSample: height and width must be positive integers, got ${height}x${width}`);
  }
  const params = drawScene(new Random(seedFor(seed, 'scene')), options);
  const shapeRng = new Random(seedFor(seed, 'layout'));
  const nuclei = placeNuclei(shapeRng, height, width, params.layout);
  const raster = rasterize(nuclei, height, width);
  const shades = raster.kept.map((i) => drawShade(shapeRng, nuclei[i]!, params));
  const texture = textureField(new Random(seedFor(seed, 'texture')), height, width, params.textureScale);

  const signal = new Float32Array(height * width);
  const mask = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const k = raster.labels[p] ?? 0;
      if (k === 0) continue;
      mask[p] = 1;
      const sh = shades[k - 1]!;
      const d = raster.dist[p] ?? 1;
      let v = sh.brightness * (1 - sh.falloff * d * d) * (1 + sh.texture * (texture[p] ?? 0));
      for (const s of sh.spots) v *= 1 + s.depth * Math.exp(-((x - s.x) ** 2 + (y - s.y) ** 2) / s.s2);
      signal[p] = Math.max(0, v);
    }
  }
  const optics = new Random(seedFor(seed, 'optics'));
  addGhosts(optics, signal, height, width, params);
  const blurred = gaussianBlur(signal, height, width, params.blur);
  const light = illuminationField(optics, height, width, params.illumination);
  const image = new Float32Array(height * width);
  for (let p = 0; p < image.length; p++) image[p] = (light[p] ?? 1) * (params.background + (blurred[p] ?? 0));
  addCameraNoise(new Random(seedFor(seed, 'noise')), image, {
    photons: params.photons,
    read: params.read,
    quantize: options.quantize ?? true,
  });
  return { height, width, image, mask, labels: raster.labels, count: raster.count, scene: params.scene };
}

/** `n` samples of one size; sample i uses a seed derived from (seed, i), so a prefix is stable. */
export function generateDataset(
  seed: number,
  n: number,
  size: number | { readonly height: number; readonly width: number },
): SyntheticSample[] {
  const { height, width } = typeof size === 'number' ? { height: size, width: size } : size;
  return Array.from({ length: n }, (_, i) => generateSample(seedFor(seed, `sample:${i}`), { height, width }));
}
