"""Trains a unetc run in PyTorch, on one process or many (DistributedDataParallel).

    python3 -m unetc_torch.train RUN/torch/config.json [--nproc N] [--devices cpu|cuda]
                                 [--amp bf16|fp16] [--channels-last] [--sync-log]

`unetc train SPEC --engine torch` writes RUN/torch/ (the generated module and its initial
weights, the prepared data, config.json with the resolved training settings, a template
checkpoint) and runs this; it can also be launched directly, on a cluster:

- PyTorch's launch contract (env://): RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT,
  as torchrun sets them (`torchrun --nproc-per-node 4 -m unetc_torch.train RUN/torch/config.json`);
  under SLURM, SLURM_PROCID, SLURM_NTASKS and SLURM_LOCALID stand in for the first three.
- Without them, --nproc N starts N local ranks itself (torch.multiprocessing), for machines
  whose torchrun does not start (Debian's torch 1.13 on Python 3.11).

gloo on CPUs, nccl on GPUs (with SyncBatchNorm across ranks). The global batch of the settings
is split evenly over the ranks; DDP averages the gradients, so every rank holds the same weights
after every step. Rank 0 writes the run folder as unetc does (metrics.jsonl, best/, last/ in
unetc's checkpoint format) and prints one JSON event per line for unetc to show.
"""
import argparse
import hashlib
import importlib.util
import json
import math
import os
import signal
import socket
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from .checkpoint import OPTIMIZER_FILE, CheckpointWriter, optimizer_bytes, restore_optimizer
from .data import Sampler, load_examples, read_data

EPS, SMOOTH = 1e-7, 1.0


# Losses on probabilities (the module ends in its activation), as unetc's losses.ts computes them.
def bce(p, t):
    q = p.clamp(EPS, 1 - EPS)
    return -(t * q.log() + (1 - t) * (1 - q).log()).mean()


def ce(p, t):
    return -(t * p.clamp(EPS, 1).log()).sum(1).mean()


def dice(p, t):
    axes = tuple(range(2, p.dim()))
    inter = (p * t).sum(axes)
    total = p.sum(axes) + t.sum(axes)
    return 1 - ((2 * inter + SMOOTH) / (total + SMOOTH)).mean()


def object_dice(p, t):
    """Dice of the object under a boundary head: 1 - P(background) against 1 - its target."""
    return dice(1 - p[:, :1], 1 - t[:, :1])


def focal(p, t):
    q = p.clamp(EPS, 1 - EPS)
    pt = t * q + (1 - t) * (1 - q)
    alpha = t * 0.25 + (1 - t) * 0.75
    return (alpha * (1 - pt) ** 2 * -pt.log()).mean()


def tversky(p, t):
    axes = tuple(range(2, p.dim()))
    tp = (p * t).sum(axes)
    fp = (p * (1 - t)).sum(axes)
    fn = ((1 - p) * t).sum(axes)
    return 1 - ((tp + SMOOTH) / (tp + 0.3 * fp + 0.7 * fn + SMOOTH)).mean()


LOSSES = {
    'bce': bce,
    'dice': dice,
    'bce-dice': lambda p, t: bce(p, t) + dice(p, t),
    'focal': focal,
    'tversky': tversky,
    'ce': ce,
    'ce-dice': lambda p, t: ce(p, t) + dice(p, t),
}


def contact_mask(t):
    """Outline pixels with no background among their face neighbours (4 in 2D, 6 in 3D): where an
    instance touches another, to the contact's ends (losses.ts contactMask); the array's edge is
    no background."""
    background = t[:, :1]
    near = torch.zeros_like(background)
    for axis in range(2, t.dim()):
        n = background.shape[axis]
        edge = torch.zeros_like(background.narrow(axis, 0, 1))
        near = torch.maximum(near, torch.cat([background.narrow(axis, 1, n - 1), edge], axis))
        near = torch.maximum(near, torch.cat([edge, background.narrow(axis, 0, n - 1)], axis))
    return t[:, 2:3] * (1 - near)


def contact_ce(weight):
    """Cross-entropy with the contact pixels weighing `weight` times the others (losses.ts contactCe)."""
    def loss(p, t):
        w = 1 + (weight - 1) * contact_mask(t)
        return (w * -(t * p.clamp(EPS, 1).log()).sum(1, keepdim=True)).mean()
    return loss


def loss_for(name, instances, contact_weight=1):
    """As losses.ts lossFor: a boundary head's Dice is on the object, its cross-entropy weighs contacts."""
    if instances != 'boundary':
        return LOSSES[name]
    cross_entropy = contact_ce(contact_weight) if contact_weight != 1 else ce
    if name == 'dice':
        return object_dice
    if name == 'ce':
        return cross_entropy
    if name == 'ce-dice':
        return lambda p, t: cross_entropy(p, t) + object_dice(p, t)
    return LOSSES[name]


def supervised_loss(loss_fn, out, y, ds):
    """The loss of the output, or with deep supervision (the module returns (output, [heads]) in
    training mode) the weighted sum over the output and each head against the mask average-pooled
    to its size, as unetc's step.ts sums it."""
    if not isinstance(out, tuple):
        return loss_fn(out.float(), y)
    main, heads = out
    total = ds['mainWeight'] * loss_fn(main.float(), y)
    pool = F.avg_pool3d if y.dim() == 5 else F.avg_pool2d
    for h, p in zip(ds['heads'], heads):
        total = total + h['weight'] * loss_fn(p.float(), pool(y, h['factor'], h['factor']))
    return total


def learning_rate(name, base, step, total, warmup=0):
    """unetc's schedule.ts: constant, cosine or poly (0.9), after a linear warm-up."""
    warm = math.floor((warmup or 0) * total)
    t = 0 if total <= 1 else min(1, max(0, step / total))
    rate = base if name == 'constant' else base * 0.5 * (1 + math.cos(math.pi * t)) if name == 'cosine' else base * (1 - t) ** 0.9
    return rate * (step + 1) / warm if step < warm else rate


def make_optimizer(params, o):
    decay = o.get('weightDecay') or 0
    if o['name'] == 'sgd':
        return torch.optim.SGD(params, lr=o['learningRate'], momentum=o.get('momentum') or 0, weight_decay=decay)
    if decay:
        return torch.optim.AdamW(params, lr=o['learningRate'], weight_decay=decay)
    return torch.optim.Adam(params, lr=o['learningRate'])


def decayed(model):
    """unetc decays conv kernels only: BatchNorm's scale and shift and every bias are left alone."""
    kernels, rest = [], []
    for name, p in model.named_parameters():
        (kernels if p.dim() > 1 else rest).append(p)
    return [{'params': kernels}, {'params': rest, 'weight_decay': 0.0}]


class Counts:
    """Pooled confusion counts of validation, scored as unetc's metrics.ts scores them."""

    def __init__(self, classes):
        self.classes = classes
        self.matrix = np.zeros((classes, classes), dtype=np.int64)

    def add(self, predicted, truth):
        self.matrix += np.bincount(truth.ravel() * self.classes + predicted.ravel(),
                                   minlength=self.classes ** 2).reshape(self.classes, self.classes)

    def scores(self):
        m = self.matrix
        tp = np.diag(m).astype(np.float64)
        fp, fn = m.sum(0) - tp, m.sum(1) - tp
        with np.errstate(invalid='ignore', divide='ignore'):
            d = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 1.0)
            j = np.where(tp + fp + fn > 0, tp / (tp + fp + fn), 1.0)
        fg = slice(1, None)
        return {'dice': float(d[fg].mean()), 'iou': float(j[fg].mean()),
                'pixelAccuracy': float(tp.sum() / max(1, m.sum()))}


def class_map(p, head):
    """Class ids from probabilities [C, *spatial]: unetc's classMapOf."""
    if head.get('instances') == 'boundary':
        return (1 - p[0] > head['threshold']).astype(np.int64)
    if p.shape[0] == 1:
        return (p[0] > head['threshold']).astype(np.int64)
    return p.argmax(0)


@torch.no_grad()
def validate(net, examples, head, device, dtype):
    binary = head['classes'] == 1 or head.get('instances') == 'boundary'
    counts = Counts(2 if binary else head['classes'])
    net.eval()
    for e in examples:
        image = np.moveaxis(e.image, -1, 0)
        pads = [(0, 0)] + [(0, q - n) for n, q in zip(e.mask.shape, e.padded)]
        x = np.pad(image, pads, mode='reflect' if all(n > 1 for n in e.mask.shape) else 'edge')
        p = net(torch.from_numpy(np.ascontiguousarray(x))[None].to(device, dtype))
        p = p[0].float().cpu().numpy()[(slice(None),) + tuple(slice(0, n) for n in e.mask.shape)]
        truth = (e.mask > 0).astype(np.int64) if binary else np.minimum(e.mask, head['classes'] - 1).astype(np.int64)
        counts.add(class_map(p, head), truth)
    net.train()
    return counts.scores()


def check_run_folder(run_dir, cfg, config_path):
    """The runner writes best/, last/ and metrics.jsonl into the run folder above config.json: only
    when that folder's run.json is the run this config was prepared for (a torch/ folder copied on
    its own into someone's folder must not replace what is there)."""
    try:
        with open(os.path.join(run_dir, 'run.json'), encoding='utf-8') as f:
            run = json.load(f)
    except (OSError, ValueError):
        run = None
    if run is None or run.get('spec', {}).get('sha256') != cfg.get('spec_sha256'):
        raise RunnerError(f'{config_path}: {run_dir} is not the run it was prepared for (its run.json is missing or '
                          'another run\'s): copy the whole run folder, not its torch/ alone')


def truncate_metrics(path, step):
    """Lines after `step` belong to steps this run does (again): dropped, as unetc does on resume."""
    if not os.path.exists(path):
        return
    with open(path, encoding='utf-8') as f:
        kept = [line for line in f if line.strip() and json.loads(line).get('step', 0) <= step]
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(kept)


class RunnerError(Exception):
    """A problem the user can act on: printed as one line, exit 1."""


def load_module(folder):
    spec = importlib.util.spec_from_file_location('unetc_run_model', os.path.join(folder, 'model.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Plan:
    """When the run ends and validates: fixed epochs, or a time budget (unetc's budget.ts, simplified:
    the steps that fit are re-estimated from the median step time after every step)."""

    def __init__(self, s, spent_ms=0):
        self.s = s
        self.cap = s.get('maxSteps') or math.inf
        self.epoch_steps = s['epochs'] * s['stepsPerEpoch']
        self.budget = s.get('timeBudgetMs')
        self.started = time.monotonic() - spent_ms / 1000
        self.times = []

    def elapsed_ms(self):
        """Of the budget: this process's time and what the run spent before it was resumed."""
        return 1000 * (time.monotonic() - self.started)

    def step_ms(self):
        recent = sorted(self.times[-50:])
        return recent[len(recent) // 2] if recent else 0

    def total(self, step):
        if self.budget is None:
            return self.epoch_steps
        if not self.times:
            return max(step + 1, self.epoch_steps if self.s.get('epochsCap') else step + 1)
        fit = step + int(max(0, self.budget - self.elapsed_ms()) / max(self.step_ms(), 1e-3))
        return min(fit, self.epoch_steps) if self.s.get('epochsCap') else fit

    def another(self, step):
        if step >= self.cap:
            return False
        if self.budget is None:
            return step < self.epoch_steps
        if self.s.get('epochsCap') and step >= self.epoch_steps:
            return False
        return self.elapsed_ms() + self.step_ms() <= self.budget

    def validate_after(self, step, last, total):
        if self.budget is None:
            return step % self.s['stepsPerEpoch'] == 0
        quarter = max(1, total // 4)
        return step - last >= quarter and total - step >= quarter // 2


def emit(event):
    print(json.dumps(event, separators=(',', ':')), flush=True)


def parameters_sha256(model):
    h = hashlib.sha256()
    for p in model.parameters():
        h.update(p.detach().to('cpu', torch.float32).numpy().tobytes())
    return h.hexdigest()


def worker(rank, world, local_rank, config_path, args):
    stop = {'asked': False}
    signal.signal(signal.SIGINT, lambda *_: stop.update(asked=True))
    with open(config_path, encoding='utf-8') as f:
        cfg = json.load(f)
    here = os.path.dirname(os.path.abspath(config_path))
    run_dir = os.path.normpath(os.path.join(here, cfg['run']))
    check_run_folder(run_dir, cfg, config_path)
    s, head = cfg['settings'], cfg['head']
    cuda = args.devices == 'cuda'
    device = torch.device(f'cuda:{local_rank}' if cuda else 'cpu')
    if not cuda:
        # PyTorch's default counts physical cores (1 on a 2-thread VM): share the machine's
        # logical CPUs among this machine's ranks instead.
        local_world = int(os.environ.get('LOCAL_WORLD_SIZE', args.nproc if world > 1 else 1))
        torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 1) // max(1, local_world)))
    if cuda:
        torch.cuda.set_device(device)
    if world > 1:
        dist.init_process_group('nccl' if cuda else 'gloo', init_method='env://', rank=rank, world_size=world)
    if s['batch'] % world != 0:
        raise RunnerError(f'the batch ({s["batch"]}) does not divide evenly over {world} processes: '
                          'choose a process count that divides it, or another --batch')

    module = load_module(here)
    net = module.load(here).to(device).train()
    if args.channels_last:
        net = net.to(memory_format=torch.channels_last if module.DIMS == 2 else torch.channels_last_3d)
    model = net
    if world > 1:
        if cuda:
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
            net = model
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[local_rank] if cuda else None)
    opt = make_optimizer(decayed(net), s['optimizer'])
    loss_fn = loss_for(s['loss'], head.get('instances'), s.get('contactWeight', 1))
    amp = {'bf16': torch.bfloat16, 'fp16': torch.float16}.get(args.amp)
    scaler = torch.cuda.amp.GradScaler() if amp == torch.float16 else None

    blob = read_data(os.path.join(here, cfg['data']['file']), cfg['data'].get('sha256'))
    sampler = Sampler(load_examples(blob, cfg['data']['train']), s['patch'], s.get('augmentation'), head,
                      s['seed'], rank, cfg['data'].get('normalization', 'zscore-per-image'))
    val = load_examples(blob, cfg['data']['val']) if rank == 0 else []
    writer = CheckpointWriter(os.path.join(here, 'template'), module.WEIGHTS,
                              f'torch {torch.__version__} {device.type} x{world}') if rank == 0 else None
    metrics = os.path.join(run_dir, 'metrics.jsonl')
    if rank == 0:
        truncate_metrics(metrics, (cfg.get('resume') or {}).get('state', {}).get('step', 0))
    sync_log = open(os.path.join(here, f'sync-rank{rank}.log'), 'w') if args.sync_log else None

    resume = cfg.get('resume')
    st = {'step': 0, 'epoch': 0, 'bestDice': -1, 'bestEpoch': 0, 'stale': 0}
    epoch_loss, epoch_steps, last_validated, spent = 0.0, 0, 0, 0
    if resume:
        r = resume['state']
        st = {k: r[k] for k in st}
        epoch_loss, epoch_steps = r.get('epochLoss', 0.0), r.get('epochSteps', 0)
        last_validated, spent = r.get('lastValidated', st['step']), r.get('torchSpentMs', 0)
        restore_optimizer(opt, os.path.join(here, resume['checkpoint']), device)
    plan = Plan(s, spent)
    local_batch = s['batch'] // world
    lr = s['optimizer']['learningRate']

    def checkpoint(which):
        state = dict(st, epochLoss=epoch_loss, epochSteps=epoch_steps, lastValidated=last_validated,
                     torchSpentMs=plan.elapsed_ms())
        extra = [(OPTIMIZER_FILE, optimizer_bytes(opt))] if which == 'last' else []
        writer.write(os.path.join(run_dir, which), net.state_dict(), state, st['step'], st['epoch'], extra)

    def validate_now(since):
        nonlocal epoch_loss, epoch_steps, last_validated
        scores = validate(net, val, head, device, torch.float32) if val else None
        best = scores is not None and scores['dice'] > st['bestDice']
        st.update(epoch=st['epoch'] + 1, bestDice=scores['dice'] if best else st['bestDice'],
                  bestEpoch=st['epoch'] + 1 if best else st['bestEpoch'], stale=0 if best else st['stale'] + 1)
        train_loss = epoch_loss / epoch_steps if epoch_steps else None
        line = {'epoch': st['epoch'], 'step': st['step'], 'loss': train_loss, 'lr': lr}
        if scores:
            line.update(val_dice=scores['dice'], val_iou=scores['iou'], val_pixel_accuracy=scores['pixelAccuracy'])
        line['best'] = best
        with open(metrics, 'a', encoding='utf-8') as f:
            f.write(json.dumps(line, separators=(',', ':')) + '\n')
        epoch_loss, epoch_steps, last_validated = 0.0, 0, st['step']
        if best:
            checkpoint('best')
        checkpoint('last')
        event = {'kind': 'epoch', 'epoch': st['epoch'], 'step': st['step'], 'trainLoss': train_loss, 'val': scores,
                 'best': best, 'ms': 1000 * (time.monotonic() - since)}
        if plan.budget is not None:
            event['remainingMs'] = max(0, plan.budget - plan.elapsed_ms())
        emit(event)
        early = bool(val) and s.get('earlyStopping') is not None and st['stale'] >= s['earlyStopping']
        return early

    def stopped(reason, message):
        emit({'kind': 'stopped', 'reason': reason, 'state': st, 'message': message})

    def agree(another, validate_flag, total):
        """Rank 0's plan and anyone's Ctrl-C, the same on every rank (their clocks differ)."""
        if world == 1:
            return another, validate_flag, total, stop['asked']
        t = torch.tensor([float(another), float(validate_flag), float(total)] if rank == 0 else [0.0, 0.0, 0.0])
        asked = torch.tensor([float(stop['asked'])])
        dist.broadcast(t, 0)
        dist.all_reduce(asked, op=dist.ReduceOp.MAX)
        return bool(t[0]), bool(t[1]), int(t[2]), bool(asked[0])

    epoch_start = time.monotonic()
    reason = None
    another, _, total, asked = agree(plan.another(st['step']), False, plan.total(st['step']))
    while another and not asked:
        lr = learning_rate(s['schedule'], s['optimizer']['learningRate'], st['step'], total, s.get('warmup'))
        for g in opt.param_groups:
            g['lr'] = lr
        t0 = time.monotonic()
        torch.manual_seed(hash((s['seed'], st['step'], rank)) & 0xFFFFFFFF)  # dropout, as resumable as the batches
        images, targets = sampler.batch(local_batch, st['step'])
        x = torch.from_numpy(images).to(device, non_blocking=True)
        y = torch.from_numpy(targets).to(device, non_blocking=True)
        if args.channels_last:
            x = x.contiguous(memory_format=torch.channels_last if x.dim() == 4 else torch.channels_last_3d)
        with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            out = model(x)
        loss = supervised_loss(loss_fn, out, y, head.get('deepSupervision'))
        opt.zero_grad(set_to_none=True)
        if scaler:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        value = float(loss.detach())
        if world > 1:  # a non-finite loss on any rank stops every rank (else the others wait for it)
            bad = torch.tensor([0.0 if math.isfinite(value) else 1.0])
            dist.all_reduce(bad, op=dist.ReduceOp.MAX)
            value = value if bad[0] == 0 else float('nan')
        if not math.isfinite(value):
            if rank == 0:
                stopped('not-finite', f'the loss became {value} at step {st["step"] + 1}; the last checkpoint '
                        f'(step {last_validated}) is kept. Lower the learning rate or check the data.')
            reason = 'not-finite'
            break
        st['step'] += 1
        epoch_loss += value
        epoch_steps += 1
        step_ms = 1000 * (time.monotonic() - t0)
        plan.times.append(step_ms)
        if sync_log:
            sync_log.write(f'{st["step"]} {parameters_sha256(net)}\n')
            sync_log.flush()
        total_now = plan.total(st['step'])
        validate_flag = plan.validate_after(st['step'], last_validated, total_now)
        another, validate_flag, total, asked = agree(plan.another(st['step']), validate_flag, total_now)
        if rank == 0:
            event = {'kind': 'step', 'step': st['step'], 'totalSteps': int(min(total, plan.cap)),
                     'epoch': st['epoch'] + 1, 'loss': value, 'lr': lr, 'ms': step_ms}
            if plan.budget is not None:
                event['remainingMs'] = max(0, plan.budget - plan.elapsed_ms())
            emit(event)
        if validate_flag:
            early = validate_now(epoch_start) if rank == 0 else False
            if world > 1:
                flag = torch.tensor([float(early)])
                dist.broadcast(flag, 0)
                early = bool(flag[0])
            epoch_start = time.monotonic()
            if early:
                if rank == 0:
                    stopped('early-stopping', f'no better validation Dice for {st["stale"]} epochs '
                            f'(best {st["bestDice"]:.4f} at epoch {st["bestEpoch"]})')
                reason = 'early-stopping'
                break

    if reason is None and rank == 0:
        capped = st['step'] >= plan.cap
        if asked:
            checkpoint('last')
            stopped('interrupted', f'interrupted at step {st["step"]}')
        elif plan.budget is not None and not capped:
            if last_validated != st['step']:
                validate_now(epoch_start)
            stopped('done', f'time budget spent: {st["step"]} steps in {plan.elapsed_ms() / 1000:.1f} s')
        else:
            if last_validated != st['step']:
                checkpoint('last')
            stopped('max-steps' if capped else 'done',
                    f'stopped after --max-steps {s["maxSteps"]}' if capped else f'finished {st["epoch"]} epochs')
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


def spawned(index, world, config_path, args, port):
    os.environ.update(RANK=str(index), WORLD_SIZE=str(world), LOCAL_RANK=str(index),
                      MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    run_worker(index, world, index, config_path, args)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_worker(*args):
    """worker(), with a problem the user can act on printed as one line (exit 1)."""
    try:
        worker(*args)
    except (RunnerError, OSError, ValueError) as e:
        print(f'unetc_torch: error: {e}', file=sys.stderr, flush=True)
        sys.exit(1)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python3 -m unetc_torch.train')
    parser.add_argument('config')
    parser.add_argument('--nproc', type=int, default=1, help='local ranks to start (without a launcher)')
    parser.add_argument('--devices', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--amp', choices=['none', 'bf16', 'fp16'], default='none')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--threads', type=int, default=0, help='CPU threads per rank (default: the CPUs / local ranks)')
    parser.add_argument('--sync-log', action='store_true', help='each rank logs a hash of its weights after every step')
    args = parser.parse_args(argv)
    if args.devices == 'cuda' and not torch.cuda.is_available():
        print('unetc_torch: error: --devices cuda: this PyTorch sees no CUDA device', file=sys.stderr)
        return 1
    env = os.environ
    if 'RANK' not in env and 'SLURM_PROCID' in env and 'MASTER_ADDR' in env:
        env.update(RANK=env['SLURM_PROCID'], WORLD_SIZE=env['SLURM_NTASKS'], LOCAL_RANK=env.get('SLURM_LOCALID', '0'))
    if 'RANK' in env and 'WORLD_SIZE' in env:
        run_worker(int(env['RANK']), int(env['WORLD_SIZE']), int(env.get('LOCAL_RANK', 0)), args.config, args)
    elif args.nproc > 1:
        ranks = torch.multiprocessing.spawn(spawned, args=(args.nproc, args.config, args, free_port()),
                                            nprocs=args.nproc, join=False)

        def forward(*_):  # Ctrl-C for the launcher is Ctrl-C for every rank: each finishes its step
            for p in ranks.processes:
                if p.is_alive():
                    os.kill(p.pid, signal.SIGINT)

        signal.signal(signal.SIGINT, forward)
        try:
            while not ranks.join():
                pass
        except torch.multiprocessing.ProcessExitedException:
            sys.exit(1)  # the rank printed why
    else:
        run_worker(0, 1, 0, args.config, args)


if __name__ == '__main__':
    sys.exit(main())
