/**
 * Pure per-axis shape functions (tfjs-layers' computeOutputShape, one spatial axis at a time):
 * no tensors, no runtime imports. Each returns the output size or why there is none.
 */
export type AxisResult = { readonly ok: true; readonly size: number } | { readonly ok: false; readonly reason: string };

const ok = (size: number): AxisResult => ({ ok: true, size });
const fail = (reason: string): AxisResult => ({ ok: false, reason });

/**
 * A strided unpadded conv must tile its input exactly, like pooling: rows it would skip at the
 * end make the decoder's output smaller than the image (or the skips mismatch).
 */
export function convAxis(size: number, kernel: number, stride: number, padding: 'same' | 'valid'): AxisResult {
  if (padding === 'same') return ok(Math.ceil(size / stride));
  if (size < kernel) return fail(`${size} is smaller than the ${kernel}-wide kernel of an unpadded conv`);
  const rest = (size - kernel) % stride;
  if (rest !== 0)
    return fail(
      `${size} does not tile with a ${kernel}-wide kernel at stride ${stride}, so the conv would drop ${rest} row(s)`,
    );
  return ok((size - kernel) / stride + 1);
}

/**
 * Keras/tfjs convention: 'valid' gives (size - 1) * stride + kernel, or size * stride when the
 * kernel is smaller than the stride (ONNX matches it with output_padding = stride - kernel).
 */
export function convTransposeAxis(size: number, kernel: number, stride: number, padding: 'same' | 'valid'): AxisResult {
  return ok(padding === 'same' ? size * stride : size * stride + Math.max(kernel - stride, 0));
}

/**
 * Pooling must tile the input exactly: a U-Net's decoder restores size * stride, so a dropped
 * row or column here would make the skip connection mismatch later.
 */
export function poolAxis(size: number, window: number, stride: number): AxisResult {
  if (size < window) return fail(`${size} is smaller than the ${window}-wide pooling window`);
  const rest = (size - window) % stride;
  if (rest !== 0) {
    // A window wider than its stride (overlapping pooling) tiles sizes window + k * stride.
    if (window === stride) return fail(`${size} is not divisible by ${stride}, so pooling would drop ${rest} row(s)`);
    return fail(
      `${size} does not tile with a ${window}-wide window at stride ${stride}, so pooling would drop ${rest} row(s)`,
    );
  }
  return ok((size - window) / stride + 1);
}

export function upsampleAxis(size: number, scale: number): AxisResult {
  return ok(size * scale);
}

/** Merging (concat, add) needs equal sizes. */
export function mergeAxis(sizes: readonly number[]): AxisResult {
  const first = sizes[0] ?? 0;
  const other = sizes.find((s) => s !== first);
  return other === undefined ? ok(first) : fail(`joins sizes ${sizes.join(' and ')}`);
}

/** Center crop of `size` to `target`. */
export function cropAxis(size: number, target: number): AxisResult {
  return target <= size ? ok(target) : fail(`cannot crop ${size} to a larger ${target}`);
}

/** Global pooling: any size of at least 1 becomes 1. */
export function globalPoolAxis(size: number): AxisResult {
  return size >= 1 ? ok(1) : fail(`${size} leaves nothing to pool`);
}

/** An elementwise product: the second input is the first's size or 1 (broadcast). */
export function scaleAxis(size: number, other: number): AxisResult {
  return other === size || other === 1
    ? ok(size)
    : fail(`multiplies size ${size} by size ${other} (needs equal sizes or 1)`);
}
