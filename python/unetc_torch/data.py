"""Training data of a unetc run, as unetc prepared it (RUN/torch/data.bin and config.json).

unetc reads the user's folders (PNG, NIfTI, DICOM) itself and writes each image as float32
channels-last values with its normalization parameters, and each mask as uint16 class ids (or
instance ids for a boundary head), so both engines train on exactly the same pixels. This module
samples patches from them: N-dimensional (2D images and 3D volumes), with the augmentations both
engines have (flips, quarter turns in the last two axes, elastic deformation of 2D patches, zoom,
intensity and gamma jitter, noise, inversion, gray and colour jitter, blur).
"""
import numpy as np

BACKGROUND, INTERIOR, BOUNDARY = 0, 1, 2


class Example:
    """One image (float32, [*spatial, channels], normalized) and its mask ([*spatial], uint16)."""

    def __init__(self, blob, entry):
        shape = tuple(entry['shape'])
        channels = entry['channels']
        count = int(np.prod(shape))
        image = np.frombuffer(blob, dtype='<f4', count=count * channels, offset=entry['image']).reshape(shape + (channels,))
        offset = np.asarray(entry['norm']['offset'], dtype=np.float32)
        scale = np.asarray(entry['norm']['scale'], dtype=np.float32)
        self.name = entry['name']
        self.image = (image - offset) / scale
        # The normalization, to apply raw-unit augmentations (noise, colour) to normalized values.
        self.offset, self.scale = offset, scale
        self.mask = np.frombuffer(blob, dtype='<u2', count=count, offset=entry['mask']).reshape(shape)
        self.padded = tuple(entry.get('padded', shape))


def read_data(path, sha256):
    """data.bin, checked against the sha256 config.json records (a damaged or replaced file is named)."""
    import hashlib

    with open(path, 'rb') as f:
        blob = f.read()
    if hashlib.sha256(blob).hexdigest() != sha256:
        raise ValueError(f'{path}: its sha256 is not the one config.json records (damaged, or from another run)')
    return blob


def load_examples(blob, entries):
    """The examples listed in config.json, from data.bin's bytes."""
    return [Example(blob, e) for e in entries]


def boundary_targets(labels):
    """0 background, 1 interior, 2 boundary: an object pixel with a face neighbour of another id
    (unetc's boundaryTargets; neighbours outside the array do not count)."""
    out = np.where(labels > 0, INTERIOR, BACKGROUND).astype(np.int64)
    edge = np.zeros(labels.shape, dtype=bool)
    for axis in range(labels.ndim):
        a = np.swapaxes(labels, 0, axis)
        e = np.swapaxes(edge, 0, axis)
        differs = a[1:] != a[:-1]
        e[1:] |= differs
        e[:-1] |= differs
    out[(labels > 0) & edge] = BOUNDARY
    return out


def crop(array, start, size):
    """array[start:start + size] over the leading axes, reflection-padded past the edges."""
    pads = []
    for n, s, k in zip(array.shape, start, size):
        pads.append((max(0, -s), max(0, s + k - n)))
    index = tuple(slice(max(0, s), min(n, s + k)) for n, s, k in zip(array.shape, start, size))
    part = array[index]
    if any(p != (0, 0) for p in pads):
        pads += [(0, 0)] * (array.ndim - len(pads))
        part = np.pad(part, pads, mode='reflect' if all(n > 1 for n in part.shape[: len(size)]) else 'edge')
    return part


class Sampler:
    """Random patches of a rank's share of each batch, drawn from a generator seeded by (seed, step,
    rank): a resumed run draws exactly the batches the interrupted one would have."""

    def __init__(self, examples, patch, augment, head, seed, rank, normalization='zscore-per-image'):
        self.examples = examples
        # Inverting a z-scored image is a change of sign; a percentile-normalized one (about [0, 1]) is 1 - v.
        self.top = 1.0 if normalization == 'percentile-per-image' else 0.0
        self.patch = tuple(patch)
        self.augment = augment or {}
        self.head = head
        self.seed, self.rank = seed, rank

    def batch(self, size, step):
        self.rng = np.random.default_rng([self.seed, step, self.rank])
        images, targets = [], []
        for _ in range(size):
            image, target = self.sample(self.examples[self.rng.integers(len(self.examples))])
            images.append(image)
            targets.append(target)
        return np.stack(images), np.stack(targets)

    def sample(self, e):
        rng, a, dims = self.rng, self.augment, len(self.patch)
        zoom = 1.0
        if a.get('scale') and a['scale'] > 1 and dims == 2:
            zoom = float(np.exp(rng.uniform(-np.log(a['scale']), np.log(a['scale']))))
        # The window that becomes the patch: smaller when zooming in, larger (reflected past the edges) when out.
        window = tuple(max(1, round(k / zoom)) for k in self.patch)
        start = [int(rng.integers(0, max(1, n - k + 1))) if n >= k else -int(rng.integers(0, k - n + 1))
                 for n, k in zip(e.mask.shape, window)]
        image = crop(e.image, start, window)
        mask = crop(e.mask, start, window)
        if window != self.patch:
            image, mask = resize(image, self.patch, linear=True), resize(mask, self.patch, linear=False)
        if a.get('flip'):
            for axis in range(dims):
                if rng.random() < 0.5:
                    image, mask = np.flip(image, axis), np.flip(mask, axis)
        if a.get('rotate90'):
            k = int(rng.integers(4))
            if self.patch[-1] != self.patch[-2]:  # a quarter turn would change the shape: half turns only (as unetc)
                k = 0 if k % 2 == 0 else 2
            image, mask = np.rot90(image, k, (dims - 2, dims - 1)), np.rot90(mask, k, (dims - 2, dims - 1))
        elastic = a.get('elastic')
        if (elastic is True or isinstance(elastic, dict)) and dims == 2:  # {}: the defaults, as in unetc
            e_opts = elastic if isinstance(elastic, dict) else {}
            g = int(e_opts.get('grid', 3))
            spread = float(e_opts.get('sigma', 10)) * float(e_opts.get('alpha', 1))
            dx, dy = elastic_field(spread * rng.standard_normal(g * g), spread * rng.standard_normal(g * g), g,
                                   *self.patch)
            image, mask = warp(image, dx, dy, linear=True), warp(mask, dx, dy, linear=False)
        image = self.appearance(image, e)
        if a.get('intensity'):
            s = float(a['intensity'])
            image = image * (1 + rng.uniform(-s, s)) + rng.uniform(-s, s)
        if a.get('gamma'):
            # Gamma on the image rescaled to [0, 1], then back: contrast bends, the range stays.
            g = float(np.exp(rng.uniform(-a['gamma'], a['gamma'])))
            low, high = float(image.min()), float(image.max())
            if high > low:
                image = ((image - low) / (high - low)) ** g * (high - low) + low
        if a.get('noise'):
            std = rng.uniform(0, a['noise'])  # in the image's own units, as unetc draws it
            image = image + rng.standard_normal(image.shape) * (std / e.scale)
        if a.get('invert') and rng.random() < a['invert']:
            image = self.top - image
        mask = np.ascontiguousarray(mask)
        image = np.ascontiguousarray(np.moveaxis(image, -1, 0), dtype=np.float32)
        return image, self.target(mask)

    def appearance(self, image, e):
        """Gray and colour jitter (3 or more channels) and blur, as unetc's augment.ts applies them
        to the raw image, here to normalized values with the example's own normalization."""
        rng, a = self.rng, self.augment
        channels = image.shape[-1]
        if channels >= 3 and (a.get('gray') or a.get('color')):
            raw = image * e.scale + e.offset
            if a.get('gray') and rng.random() < a['gray']:
                luma = raw[..., 0] * 0.299 + raw[..., 1] * 0.587 + raw[..., 2] * 0.114
                raw = np.concatenate([np.repeat(luma[..., None], 3, -1), raw[..., 3:]], -1)
            c = a.get('color') or 0
            if c:
                k = min(channels, 4)
                gain, shift = rng.uniform(1 - c, 1 + c, k), rng.uniform(-c, c, k)
                raw = np.concatenate([raw[..., :k] * gain + shift, raw[..., k:]], -1)
            image = (raw - e.offset) / e.scale
        sigma = rng.uniform(0, a['blur']) if a.get('blur') else 0
        if sigma > 0.3:  # below ~0.3 px a Gaussian barely moves a pixel
            image = gaussian_blur(image, sigma, image.ndim - 1)
        return image

    def target(self, mask):
        """Channels-first float32 targets: 0/1 for one class, one-hot otherwise (boundary: 3 classes)."""
        classes = self.head['classes']
        if self.head.get('instances') == 'boundary':
            ids = boundary_targets(mask)
        elif classes == 1:
            return (mask > 0).astype(np.float32)[None]
        else:
            ids = np.minimum(mask, classes - 1).astype(np.int64)
        return np.moveaxis(np.eye(classes, dtype=np.float32)[ids], -1, 0)


def gaussian_blur(array, sigma, axes):
    """A separable Gaussian over the first `axes` axes (reflected at the edges)."""
    radius = max(1, int(np.ceil(3 * sigma)))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    for axis in range(axes):
        pads = [(0, 0)] * array.ndim
        pads[axis] = (radius, radius)
        padded = np.pad(array, pads, mode='reflect' if array.shape[axis] > radius else 'edge')
        out = np.zeros_like(array)
        for i, w in enumerate(kernel):
            out += w * np.take(padded, range(i, i + array.shape[axis]), axis=axis)
        array = out
    return array


def cubic_weights(f):
    """Catmull-Rom weights of the four control points around fractions f in [0, 1) (geometry.ts)."""
    f2, f3 = f * f, f * f * f
    return np.stack([(-f3 + 2 * f2 - f) / 2, (3 * f3 - 5 * f2 + 2) / 2, (-3 * f3 + 4 * f2 + f) / 2, (f3 - f2) / 2])


def upsample_grid(grid, n):
    """Bicubic interpolation of a g-point axis (the first) to n points, ends on the end points."""
    g = grid.shape[0]
    u = np.arange(n) * (g - 1) / (n - 1) if n > 1 else np.zeros(1)
    j = np.minimum(g - 2, np.floor(u).astype(int))
    k = cubic_weights(u - j)
    out = 0
    for t in range(4):
        out = out + k[t].reshape((n,) + (1,) * (grid.ndim - 1)) * grid[np.clip(j + t - 1, 0, g - 1)]
    return out


def elastic_field(grid_dx, grid_dy, g, h, w):
    """The U-Net paper's elastic deformation: displacements (pixels) drawn on a g x g grid of control
    points spread over the patch, corners included, interpolated bicubically to every pixel
    (unetc's elasticField). The output pixel (r, c) samples the input at (r + dy, c + dx)."""
    def dense(grid):
        # Along the width, then the height; float32 between the passes and at the end, as unetc
        # stores them, so that the two engines' fields agree to the bit.
        rows = upsample_grid(np.asarray(grid, dtype=np.float64).reshape(g, g).T, w).T.astype(np.float32)
        return upsample_grid(rows.astype(np.float64), h).astype(np.float32)
    return dense(grid_dx), dense(grid_dy)


def reflect_index(i, n):
    """Indices reflected into [0, n) without repeating the edge (numpy's 'reflect'; geometry.ts reflectIndex)."""
    if n == 1:
        return np.zeros_like(i)
    period = 2 * (n - 1)
    i = np.mod(i, period)
    return np.where(i >= n, period - i, i)


def warp(array, dx, dy, linear):
    """`array` ([h, w, ...]) resampled along a displacement field: bilinear (images) or nearest
    (masks); edges reflect (unetc's warp)."""
    h, w = array.shape[:2]
    sy = np.arange(h)[:, None] + dy.astype(np.float64)  # in float64, as JavaScript adds them
    sx = np.arange(w)[None, :] + dx.astype(np.float64)

    if not linear:
        # floor(v + 0.5): JavaScript's Math.round, as unetc rounds (numpy rounds halves to even).
        rows, cols = np.floor(sy + 0.5).astype(int), np.floor(sx + 0.5).astype(int)
        return array[reflect_index(rows, h), reflect_index(cols, w)]
    y0, x0 = np.floor(sy).astype(int), np.floor(sx).astype(int)
    fy, fx = sy - y0, sx - x0
    if array.ndim > 2:
        fy, fx = fy[..., None], fx[..., None]
    ya, yb, xa, xb = reflect_index(y0, h), reflect_index(y0 + 1, h), reflect_index(x0, w), reflect_index(x0 + 1, w)
    top = array[ya, xa] * (1 - fx) + array[ya, xb] * fx
    bottom = array[yb, xa] * (1 - fx) + array[yb, xb] * fx
    return (top * (1 - fy) + bottom * fy).astype(array.dtype)


def resize(array, size, linear):
    """array's leading axes resized to `size`: linear (images) or nearest (masks), pixel centres aligned."""
    for axis, k in enumerate(size):
        n = array.shape[axis]
        if n == k:
            continue
        position = np.clip((np.arange(k) + 0.5) * n / k - 0.5, 0, n - 1)
        if not linear:
            array = np.take(array, np.minimum(np.round(position).astype(int), n - 1), axis=axis)
            continue
        low = np.floor(position).astype(int)
        high = np.minimum(low + 1, n - 1)
        shape = [1] * array.ndim
        shape[axis] = k
        w = (position - low).reshape(shape)
        array = np.take(array, low, axis=axis) * (1 - w) + np.take(array, high, axis=axis) * w
    return array
