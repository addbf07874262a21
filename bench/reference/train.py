"""The PyTorch anchor of `npm run bench -- --quality`: a plain training script, as a user would
write it by hand, for a wall-clock budget. The same U-Net layout as unetc's template (see
unet.py), BCE + soft Dice, Adam at a constant rate, random patches with flips and quarter turns,
per-image z-score inputs, PyTorch's default BatchNorm settings. It trains until the budget is
spent, then writes the trained network as ONNX with the metadata unetc reads, so that unetc's
own evaluator scores both models in exactly the same way.

Usage: python3 train.py --data DIR --out DIR --time 300 --seed 0 [--base 16 --depth 4 ...]
Needs python3-torch, python3-numpy, python3-pil and python3-onnx (Debian). Never a runtime
dependency of unetc.
"""
import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unet import UNet, bce_dice  # noqa: E402


def load_folder(folder):
    """(image, mask) pairs of images/ and masks/ matched by name: gray float32 and 0/1 uint8."""
    pairs = []
    for name in sorted(os.listdir(os.path.join(folder, 'images'))):
        if not name.lower().endswith('.png'):
            continue
        image = np.asarray(Image.open(os.path.join(folder, 'images', name)).convert('L'), dtype=np.float32)
        mask = np.asarray(Image.open(os.path.join(folder, 'masks', name)))
        if mask.ndim == 3:
            mask = mask[..., 0]
        pairs.append((image, (mask > 0).astype(np.float32)))
    return pairs


def zscore(image):
    return (image - image.mean()) / max(float(image.std()), 1e-6)


def sample_batch(pairs, batch, patch, rng):
    """Random patches (reflection-padded where an image is smaller), random flips and quarter turns."""
    xs, ys = [], []
    for _ in range(batch):
        image, mask = pairs[rng.randrange(len(pairs))]
        image = zscore(image)
        h, w = image.shape
        if h < patch or w < patch:
            ph, pw = max(0, patch - h), max(0, patch - w)
            image = np.pad(image, ((0, ph), (0, pw)), mode='reflect')
            mask = np.pad(mask, ((0, ph), (0, pw)), mode='reflect')
            h, w = image.shape
        top, left = rng.randrange(h - patch + 1), rng.randrange(w - patch + 1)
        x = image[top:top + patch, left:left + patch]
        y = mask[top:top + patch, left:left + patch]
        if rng.random() < 0.5:
            x, y = x[:, ::-1], y[:, ::-1]
        if rng.random() < 0.5:
            x, y = x[::-1], y[::-1]
        k = rng.randrange(4)
        x, y = np.rot90(x, k), np.rot90(y, k)
        xs.append(np.ascontiguousarray(x))
        ys.append(np.ascontiguousarray(y))
    return torch.from_numpy(np.stack(xs)[:, None]), torch.from_numpy(np.stack(ys)[:, None])


def export_onnx(model, depth, path):
    """The trained network as ONNX (NCHW, symbolic N/H/W) with unetc's metadata."""
    import onnx

    model.eval()
    side = 2**depth * 4
    tmp = path + '.tmp'
    torch.onnx.export(model, torch.zeros(1, 1, side, side), tmp, input_names=['input'], output_names=['output'], opset_version=13,
                      dynamic_axes={'input': {0: 'N', 2: 'H', 3: 'W'}, 'output': {0: 'N', 2: 'H', 3: 'W'}})
    m = onnx.load(tmp)
    meta = {'output_activation': 'sigmoid', 'threshold': '0.5', 'input_normalization': 'zscore-per-image',
            'spatial_divisor': str(2**depth), 'model_name': 'pytorch-reference', 'class_names': '["background", "foreground"]'}
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.save(m, tmp)
    os.replace(tmp, path)


def main():
    a = argparse.ArgumentParser()
    a.add_argument('--data', required=True)
    a.add_argument('--out', required=True)
    a.add_argument('--time', type=float, default=300, help='training budget in seconds')
    a.add_argument('--seed', type=int, default=0)
    a.add_argument('--base', type=int, default=16)
    a.add_argument('--depth', type=int, default=4)
    a.add_argument('--dropout', default='0.1', help='one rate, or depth + 1 comma-separated rates')
    a.add_argument('--batch', type=int, default=8)
    a.add_argument('--patch', type=int, default=128)
    a.add_argument('--lr', type=float, default=1e-3)
    a.add_argument('--threads', type=int, default=2)
    args = a.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    pairs = load_folder(args.data)
    dropout = [float(r) for r in args.dropout.split(',')]
    model = UNet(1, 1, args.base, args.depth, dropout[0] if len(dropout) == 1 else dropout, bn={})
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    model.train()
    start = time.perf_counter()
    steps = 0
    loss_sum = 0.0
    while time.perf_counter() - start < args.time:
        x, y = sample_batch(pairs, args.batch, args.patch, rng)
        opt.zero_grad(set_to_none=True)
        loss = bce_dice(model(x), y)
        loss.backward()
        opt.step()
        steps += 1
        loss_sum += float(loss)
    seconds = time.perf_counter() - start
    os.makedirs(args.out, exist_ok=True)
    export_onnx(model, args.depth, os.path.join(args.out, 'model.onnx'))
    print(json.dumps({'engine': f'pytorch {torch.__version__}', 'threads': torch.get_num_threads(), 'steps': steps,
                      'patches': steps * args.batch, 'seconds': seconds, 'mean_loss': loss_sum / max(steps, 1)}))


if __name__ == '__main__':
    main()
