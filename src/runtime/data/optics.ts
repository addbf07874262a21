/**
 * The imaging side of the synthetic data: the microscope's blur (a Gaussian PSF), uneven
 * illumination, band-limited texture, and camera noise (shot noise, read noise, 8-bit
 * quantization). Plain loops over Float32Arrays: a 256x256 image takes a few milliseconds.
 */
import type { Random } from '../../util/random.js';

/** A normalized 1-D Gaussian kernel of radius ceil(3 sigma). */
function kernel(sigma: number): Float32Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const w = Math.exp(-(i * i) / (2 * sigma * sigma));
    k[i + radius] = w;
    sum += w;
  }
  for (let i = 0; i < k.length; i++) k[i] = (k[i] ?? 0) / sum;
  return k;
}

/** Separable Gaussian blur with edges clamped (a new array; sigma <= 0 copies). */
export function gaussianBlur(src: Float32Array, height: number, width: number, sigma: number): Float32Array {
  if (!(sigma > 0)) return src.slice();
  const k = kernel(sigma);
  const r = (k.length - 1) / 2;
  const tmp = new Float32Array(src.length);
  const out = new Float32Array(src.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let i = -r; i <= r; i++) {
        const xx = Math.min(width - 1, Math.max(0, x + i));
        s += (k[i + r] ?? 0) * (src[row + xx] ?? 0);
      }
      tmp[row + x] = s;
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let i = -r; i <= r; i++) {
        const yy = Math.min(height - 1, Math.max(0, y + i));
        s += (k[i + r] ?? 0) * (tmp[yy * width + x] ?? 0);
      }
      out[y * width + x] = s;
    }
  }
  return out;
}

/** Zero-mean, unit-variance noise smoothed at `scale` pixels: chromatin-like texture. */
export function textureField(rng: Random, height: number, width: number, scale: number): Float32Array {
  const white = new Float32Array(height * width);
  for (let p = 0; p < white.length; p++) white[p] = rng.normal();
  const field = gaussianBlur(white, height, width, scale);
  let sq = 0;
  for (let p = 0; p < field.length; p++) sq += (field[p] ?? 0) ** 2;
  const std = Math.sqrt(sq / field.length) || 1;
  for (let p = 0; p < field.length; p++) field[p] = (field[p] ?? 0) / std;
  return field;
}

/**
 * A smooth multiplicative illumination field around 1: a random linear gradient plus a vignette
 * centered somewhere near the middle (uneven lamp, off-axis field of view).
 */
export function illuminationField(rng: Random, height: number, width: number, strength: number): Float32Array {
  const gx = strength * rng.uniform(-1, 1);
  const gy = strength * rng.uniform(-1, 1);
  const vignette = strength * rng.uniform(0, 0.8);
  const ox = rng.uniform(0.3, 0.7);
  const oy = rng.uniform(0.3, 0.7);
  const out = new Float32Array(height * width);
  for (let y = 0; y < height; y++) {
    const ny = y / Math.max(1, height - 1);
    for (let x = 0; x < width; x++) {
      const nx = x / Math.max(1, width - 1);
      const r2 = (nx - ox) ** 2 + (ny - oy) ** 2;
      out[y * width + x] = Math.max(0.4, 1 + gx * (nx - 0.5) + gy * (ny - 0.5) + vignette * (0.25 - r2));
    }
  }
  return out;
}

/** Camera noise settings. */
export interface CameraNoise {
  /** Photons per unit intensity: lower means stronger shot noise. */
  readonly photons: number;
  /** Read noise standard deviation, in units of the [0, 1] range. */
  readonly read: number;
  /** Round to 8-bit levels, as the real data's PNGs are. */
  readonly quantize: boolean;
}

/**
 * Adds shot noise (Poisson, in its Gaussian approximation: variance = signal / photons) and
 * Gaussian read noise in place, then clips to [0, 1] and optionally quantizes to 1/255 steps.
 */
export function addCameraNoise(rng: Random, image: Float32Array, noise: CameraNoise): void {
  for (let p = 0; p < image.length; p++) {
    const v = image[p] ?? 0;
    const shot = Math.sqrt(Math.max(v, 0) / noise.photons) * rng.normal();
    let out = Math.min(1, Math.max(0, v + shot + noise.read * rng.normal()));
    if (noise.quantize) out = Math.round(out * 255) / 255;
    image[p] = out;
  }
}
