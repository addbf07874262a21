"""Training data of a unetc run, as unetc prepared it (RUN/torch/data.bin and config.json).

unetc reads the user's folders (PNG, NIfTI, DICOM) itself and writes each image as float32
channels-last values with its normalization parameters, and each mask as uint16 class ids (or
instance ids for a boundary head), so both engines train on exactly the same pixels. This module
samples patches from them: N-dimensional (2D images and 3D volumes), with the augmentations both
engines have (flips, quarter turns in the last two axes, intensity and gamma jitter).
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
        self.mask = np.frombuffer(blob, dtype='<u2', count=count, offset=entry['mask']).reshape(shape)
        self.padded = tuple(entry.get('padded', shape))


def load_examples(path, entries):
    """The examples listed in config.json, read from data.bin."""
    with open(path, 'rb') as f:
        blob = f.read()
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

    def __init__(self, examples, patch, augment, head, seed, rank):
        self.examples = examples
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
        start = [int(rng.integers(0, max(1, n - k + 1))) if n >= k else -int(rng.integers(0, k - n + 1))
                 for n, k in zip(e.mask.shape, self.patch)]
        image = crop(e.image, start, self.patch)
        mask = crop(e.mask, start, self.patch)
        if a.get('flip'):
            for axis in range(dims):
                if rng.random() < 0.5:
                    image, mask = np.flip(image, axis), np.flip(mask, axis)
        if a.get('rotate90') and self.patch[-1] == self.patch[-2]:
            k = int(rng.integers(4))
            image, mask = np.rot90(image, k, (dims - 2, dims - 1)), np.rot90(mask, k, (dims - 2, dims - 1))
        if a.get('intensity'):
            s = float(a['intensity'])
            image = image * (1 + rng.uniform(-s, s)) + rng.uniform(-s, s)
        if a.get('gamma'):
            # Gamma on the image rescaled to [0, 1], then back: contrast bends, the range stays.
            g = float(np.exp(rng.uniform(-a['gamma'], a['gamma'])))
            low, high = float(image.min()), float(image.max())
            if high > low:
                image = ((image - low) / (high - low)) ** g * (high - low) + low
        mask = np.ascontiguousarray(mask)
        image = np.ascontiguousarray(np.moveaxis(image, -1, 0), dtype=np.float32)
        return image, self.target(mask)

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
