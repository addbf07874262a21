"""The GPU check of unetc's PyTorch target (see gpu-check.sh): python3 with torch and numpy only.

    python3 scripts/gpu_check.py [--module DIR] [--device cuda|cpu] [--batch 4] [--size 256] [--steps 10]

DIR holds a generated model.py (default: scripts/gpu-check, the canonical U-Net); weights.bin
beside it is used when present, else PyTorch's seeded initialization. Checks, in order:
1. eval-mode forward on the device in fp32 (TF32 off) against the CPU: max|diff|/max|ref| <= 1e-4;
2. the same under autocast (bf16, and fp16 on CUDA), reported (reduced precision: <= 5e-2 expected);
3. training steps (Adam, BCE + soft Dice on a fixed random batch) in fp32, fp32 with TF32, bf16 and
   fp16 autocast (fp16 with a gradient scaler), channels-last: median step time, and that the loss
   falls. Exit 1 when a check fails; without CUDA (and no --device cpu) it says so and exits 0.
"""
import argparse
import importlib.util
import os
import statistics
import sys
import time

import torch


def load_module(folder):
    spec = importlib.util.spec_from_file_location('unetc_gpu_check_model', os.path.join(folder, 'model.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(module, folder):
    if os.path.exists(os.path.join(folder, 'weights.bin')):
        return module.load(folder), 'the weights in weights.bin'
    torch.manual_seed(0)
    classes = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, torch.nn.Module)]
    return classes[0]().eval(), "PyTorch's initialization (seed 0)"


def relative(reference, actual):
    return float((reference - actual).abs().max() / reference.abs().max().clamp_min(1e-12))


def loss_of(p, t):
    q = p.float().clamp(1e-7, 1 - 1e-7)
    bce = -(t * q.log() + (1 - t) * (1 - q).log()).mean()
    axes = tuple(range(2, p.dim()))
    dice = 1 - ((2 * (q * t).sum(axes) + 1) / (q.sum(axes) + t.sum(axes) + 1)).mean()
    return bce + dice


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def train_steps(module, folder, device, x, t, steps, dtype=None, tf32=False, channels_last=False):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    net, _ = build(module, folder)
    net = net.to(device).train()
    if channels_last:
        net = net.to(memory_format=torch.channels_last if x.dim() == 4 else torch.channels_last_3d)
        x = x.contiguous(memory_format=torch.channels_last if x.dim() == 4 else torch.channels_last_3d)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    scaler = torch.cuda.amp.GradScaler() if dtype == torch.float16 else None
    times, losses = [], []
    for i in range(steps + 2):
        sync(device)
        t0 = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            out = net(x)
        out = out[0] if isinstance(out, tuple) else out
        loss = loss_of(out, t)
        opt.zero_grad(set_to_none=True)
        if scaler:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        sync(device)
        if i >= 2:  # the first steps pick kernels
            times.append(1000 * (time.perf_counter() - t0))
        losses.append(float(loss))
    return statistics.median(times), losses


def main(argv=None):
    parser = argparse.ArgumentParser(prog='gpu-check.sh')
    parser.add_argument('--module', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), 'gpu-check'))
    parser.add_argument('--device', choices=['cuda', 'cpu'], default='cuda')
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--size', type=int, default=256)
    parser.add_argument('--steps', type=int, default=10)
    a = parser.parse_args(argv)
    if a.steps < 1 or a.batch < 1 or a.size < 1:
        parser.error('--steps, --batch and --size take whole numbers of at least 1')
    if a.device == 'cuda' and not torch.cuda.is_available():
        print(f'no CUDA: torch {torch.__version__} sees no GPU here; nothing to check (exit 0)')
        return 0
    device = torch.device(a.device)
    module = load_module(a.module)
    name = f'{torch.cuda.get_device_name(0)}' if device.type == 'cuda' else 'CPU'
    net, weights = build(module, a.module)
    print(f"spec '{module.SPEC_NAME}' ({module.SPEC_SHA256[:12]}...), {weights}; torch {torch.__version__} on {name}")
    shape = [a.batch, module.INPUT_CHANNELS] + [a.size] * module.DIMS
    g = torch.Generator().manual_seed(1)
    x = torch.randn(shape, generator=g)
    t = (torch.rand([a.batch, module.CLASSES] + [a.size] * module.DIMS, generator=g) > 0.7).float()
    failed = False

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    with torch.no_grad():
        try:
            reference = net(x[:1])
        except RuntimeError as e:
            print(f'error: the network does not take {a.size}-pixel sides ({str(e).splitlines()[0]}); try a multiple of 16',
                  file=sys.stderr)
            return 1
        on_device = net.to(device)(x[:1].to(device)).float().cpu()
        r = relative(reference, on_device)
        ok = r <= 1e-4
        failed |= not ok
        same = ' (the same device: a self-check)' if device.type == 'cpu' else ''
        print(f'forward fp32 ({device.type}) vs CPU: max|diff|/max|ref| = {r:.1e}: {"ok" if ok else "FAILED"} (<= 1e-4){same}')
        for dtype in [torch.bfloat16] + ([torch.float16] if device.type == 'cuda' else []):
            with torch.autocast(device.type, dtype=dtype):
                low = net(x[:1].to(device)).float().cpu()
            r = relative(reference, low)
            print(f'forward autocast {str(dtype)[6:]} vs CPU fp32: {r:.1e} ({"ok" if r <= 5e-2 else "large"}: reduced precision)')

    runs = [('fp32', {}), ('bf16 autocast', {'dtype': torch.bfloat16})]
    if device.type == 'cuda':
        runs[1:1] = [('fp32 + TF32', {'tf32': True})]
        runs += [('fp16 autocast + scaler', {'dtype': torch.float16}),
                 ('bf16 autocast, channels-last', {'dtype': torch.bfloat16, 'channels_last': True})]
    print(f'training: batch {a.batch}, {"x".join([str(a.size)] * module.DIMS)}, Adam, BCE + Dice, median of {a.steps} steps')
    for label, options in runs:
        ms, losses = train_steps(module, a.module, device, x.to(device), t.to(device), a.steps, **options)
        falls = losses[-1] < losses[0]
        failed |= not falls
        print(f'  {label:30s} {ms:9.1f} ms/step  loss {losses[0]:.4f} -> {losses[-1]:.4f}{"" if falls else "  FAILED: the loss did not fall"}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
