"""Runs generated modules on raw float32 inputs, for unetc's parity checks.

Usage: python3 -m unetc_torch.parity JOB.json

JOB.json: {"threads": 1, "cases": [{"folder": DIR, "inputs": [{"file": F, "shape": [N, C, ...]}]}]}.
Each case imports DIR/model.py, builds it with load(DIR) (eval mode) and writes the output of each
input, float32 little-endian channels-first, to F + ".out". An error is printed as one line
naming the folder, and the exit status is 1.
"""
import importlib.util
import json
import os
import sys

import numpy as np
import torch


def load_module(folder, tag):
    """DIR/model.py as a fresh module (cases may share the file name)."""
    spec = importlib.util.spec_from_file_location(f'unetc_generated_{tag}', os.path.join(folder, 'model.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(job):
    torch.set_num_threads(int(job.get('threads', 1)))
    for index, case in enumerate(job['cases']):
        folder = case['folder']
        try:
            model = load_module(folder, index).load(folder)
            with torch.no_grad():
                for item in case['inputs']:
                    x = np.fromfile(item['file'], dtype='<f4').reshape(item['shape'])
                    y = model(torch.from_numpy(x))
                    y.numpy().astype('<f4').tofile(item['file'] + '.out')
        except Exception as e:  # one line per failure, for the caller to show
            raise SystemExit(f'{folder}: {type(e).__name__}: {e}') from None


if __name__ == '__main__':
    with open(sys.argv[1], encoding='utf-8') as f:
        run(json.load(f))
