"""PyTorch reference for `npm run bench`: the same U-Net as unetc's template with the canonical
block (3x3 conv -> ReLU -> BatchNorm -> Dropout, twice), 2x2 max pool, 2x2 stride-2 transposed
conv, concatenated skips, 1x1 head + sigmoid. Prints one JSON object with per-iteration times.

Usage: python3 unet.py --base 16 --depth 4 --size 128 --batch 4 --reps 5 --warmup 2 --threads 2
Never a runtime dependency of unetc: only the benchmark runs it (Debian's python3-torch).
"""
import argparse
import json
import time

import torch
import torch.nn as nn


# 2D by default; --volume-depth D switches these to their 3D forms (a 3D U-Net on D x size x size).
Conv, ConvT, BatchNorm, MaxPool = nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d, nn.MaxPool2d


def unit(cin, cout, dropout, bn):
    return [Conv(cin, cout, 3, padding=1), nn.ReLU(inplace=True), BatchNorm(cout, **bn), nn.Dropout(dropout)]


def block(cin, cout, dropout, bn):
    return nn.Sequential(*unit(cin, cout, dropout, bn), *unit(cout, cout, dropout, bn))


class UNet(nn.Module):
    """`dropout`: one rate, or one per level (depth encoder levels, then the bottleneck; the
    decoder level of the same depth takes its encoder's rate, as unetc's template does).
    `bn`: BatchNorm keyword arguments; Keras' defaults (unetc's) unless given."""

    def __init__(self, channels, classes, base, depth, dropout, bn=None):
        super().__init__()
        bn = bn if bn is not None else {'eps': 1e-3, 'momentum': 0.01}
        rates = list(dropout) if isinstance(dropout, (list, tuple)) else [dropout] * (depth + 1)
        filters = [base * 2**i for i in range(depth + 1)]
        self.enc = nn.ModuleList()
        cin = channels
        for i, f in enumerate(filters[:-1]):
            self.enc.append(block(cin, f, rates[i], bn))
            cin = f
        self.pool = MaxPool(2)
        self.bottleneck = block(filters[-2], filters[-1], rates[depth], bn)
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in reversed(range(depth)):
            self.up.append(ConvT(filters[i + 1], filters[i], 2, stride=2))
            self.dec.append(block(2 * filters[i], filters[i], rates[i], bn))
        self.head = Conv(filters[0], classes, 1)

    def forward(self, x):
        skips = []
        for enc in self.enc:
            x = enc(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips)):
            x = dec(torch.cat([skip, up(x)], dim=1))
        return torch.sigmoid(self.head(x))


def bce_dice(p, t):
    eps = 1e-7
    q = p.clamp(eps, 1 - eps)
    bce = -(t * q.log() + (1 - t) * (1 - q).log()).mean()
    axes = tuple(range(2, p.dim()))
    inter = (p * t).sum(dim=axes)
    total = p.sum(dim=axes) + t.sum(dim=axes)
    dice = 1 - ((2 * inter + 1) / (total + 1)).mean()
    return bce + dice


def timed(fn, reps, warmup):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main():
    a = argparse.ArgumentParser()
    a.add_argument('--base', type=int, default=16)
    a.add_argument('--depth', type=int, default=4)
    a.add_argument('--size', type=int, default=128)
    a.add_argument('--batch', type=int, default=4)
    a.add_argument('--reps', type=int, default=5)
    a.add_argument('--warmup', type=int, default=2)
    a.add_argument('--threads', type=int, default=2)
    a.add_argument('--dropout', type=float, default=0.1)
    a.add_argument('--no-train', action='store_true')
    a.add_argument('--volume-depth', type=int, default=0)
    args = a.parse_args()
    global Conv, ConvT, BatchNorm, MaxPool
    if args.volume_depth:
        Conv, ConvT, BatchNorm, MaxPool = nn.Conv3d, nn.ConvTranspose3d, nn.BatchNorm3d, nn.MaxPool3d
    spatial = (args.volume_depth, args.size, args.size) if args.volume_depth else (args.size, args.size)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = UNet(1, 1, args.base, args.depth, args.dropout)
    x = torch.rand(args.batch, 1, *spatial)
    y = (torch.rand(args.batch, 1, *spatial) > 0.5).float()

    model.eval()

    def forward():
        with torch.no_grad():
            model(x)

    result = {
        'engine': f'pytorch {torch.__version__}',
        'threads': torch.get_num_threads(),
        'params': sum(p.numel() for p in model.parameters()) + sum(b.numel() for n, b in model.named_buffers() if 'running' in n),
        'forward_ms': timed(forward, args.reps, args.warmup),
    }
    if not args.no_train:
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = bce_dice(model(x), y)
            loss.backward()
            opt.step()

        result['train_ms'] = timed(step, args.reps, args.warmup)
    print(json.dumps(result))


if __name__ == '__main__':
    main()
