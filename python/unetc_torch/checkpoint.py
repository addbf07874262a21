"""unetc checkpoints written from PyTorch: the folders `unetc predict`, `eval` and `compile
--weights` read (model.json, weights.bin, unetc.json, train-state.json).

unetc writes a template checkpoint of the run's network before training (RUN/torch/template):
its model.json is copied byte for byte, its weights manifest gives the order of weights.bin, and
its unetc.json is filled in with the new weights' and files' sha256, the step and the epoch.
A checkpoint is written to a staging folder and renamed into place, as unetc does it.
"""
import hashlib
import io
import json
import os
import shutil

import numpy as np
import torch


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class CheckpointWriter:
    def __init__(self, template, weights_table, engine):
        with open(os.path.join(template, 'model.json'), 'rb') as f:
            self.model_json = f.read()
        with open(os.path.join(template, 'unetc.json'), encoding='utf-8') as f:
            self.manifest = json.load(f)
        if sha256(self.model_json) != self.manifest.get('files', {}).get('model.json'):
            raise ValueError(f'{template}/model.json: its sha256 is not the one unetc.json records')
        entries = json.loads(self.model_json)['weightsManifest'][0]['weights']
        table = {name: (key, axes) for name, key, axes in weights_table}
        missing = [e['name'] for e in entries if e['name'] not in table]
        if missing or len(entries) != len(table):
            raise ValueError(f'{template}/model.json: its weights are not the module\'s ({missing[:3]})')
        for e in entries:
            stored = (e.get('quantization') or {}).get('dtype', e['dtype'])
            if stored not in ('float32', 'float16'):
                raise ValueError(f'{template}/model.json: weight {e["name"]} is stored as {stored}; unetc writes float32 or float16')
        # tfjs' float16 storage (quantization: float16) is kept: those values are halves already.
        half = lambda e: (e.get('quantization') or {}).get('dtype') == 'float16'  # noqa: E731
        self.order = [(e['name'], tuple(e['shape']), '<f2' if half(e) else '<f4') + table[e['name']] for e in entries]
        self.engine = engine

    def weights_bin(self, state):
        chunks = []
        for name, shape, dtype, key, axes in self.order:
            values = state[key].detach().to('cpu', torch.float32).numpy().transpose(np.argsort(axes))
            if values.shape != shape:
                raise ValueError(f'weight {name}: shape {values.shape}, model.json says {shape}')
            chunks.append(np.ascontiguousarray(values, dtype=dtype).tobytes())
        return b''.join(chunks)

    def write(self, folder, state, train_state, step, epoch, extra=()):
        """Writes folder (replacing it) from a state dict; extra: (name, bytes) files to add."""
        weights = self.weights_bin(state)
        state_text = (json.dumps(train_state, indent=2) + '\n').encode()
        files = {'model.json': self.model_json, 'train-state.json': state_text, **dict(extra)}
        manifest = dict(self.manifest)
        manifest.update(
            weightsSha256=sha256(weights),
            engine=self.engine,
            step=step,
            epoch=epoch,
            files={name: sha256(body) for name, body in files.items()},
        )
        staging, old = f'{folder}.staging-{os.getpid()}', f'{folder}.old'
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(staging)
        for name, body in list(files.items()) + [('weights.bin', weights)]:
            with open(os.path.join(staging, name), 'wb') as f:
                f.write(body)
        with open(os.path.join(staging, 'unetc.json'), 'w', encoding='utf-8') as f:
            f.write(json.dumps(manifest, indent=2) + '\n')
        shutil.rmtree(old, ignore_errors=True)
        if os.path.exists(folder):
            os.rename(folder, old)
        os.rename(staging, folder)
        shutil.rmtree(old, ignore_errors=True)


OPTIMIZER_FILE = 'torch-optimizer.npz'


def optimizer_bytes(opt):
    """The optimizer's state as .npz (arrays only: no pickle), keyed 'parameter index/name'."""
    arrays = {}
    for index, values in opt.state_dict()['state'].items():
        for name, value in values.items():
            arrays[f'{index}/{name}'] = torch.as_tensor(value).detach().cpu().numpy()
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def restore_optimizer(opt, folder, device):
    """Loads OPTIMIZER_FILE of a checkpoint into `opt`, after checking its sha256 against unetc.json."""
    path = os.path.join(folder, OPTIMIZER_FILE)
    with open(os.path.join(folder, 'unetc.json'), encoding='utf-8') as f:
        recorded = json.load(f).get('files', {}).get(OPTIMIZER_FILE)
    with open(path, 'rb') as f:
        data = f.read()
    if recorded is None or sha256(data) != recorded:
        raise ValueError(f'{path}: its sha256 is not the one unetc.json records (damaged, or from another run)')
    state = {}
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        for key in arrays.files:
            index, name = key.split('/', 1)
            state.setdefault(int(index), {})[name] = torch.from_numpy(arrays[key]).to(device)
    for values in state.values():
        if 'step' in values:
            values['step'] = values['step'].cpu()
    opt.load_state_dict({'state': state, 'param_groups': opt.state_dict()['param_groups']})
