# Copyright (c) mkd_mm contributors. All rights reserved.
"""End-to-end tests of ``tools/train.py`` on the CPU (subprocesses): the MAE
demo trains and checkpoints, ``--resume`` continues it, and bad input fails
early with a clear message. A 2-process (gloo) torchrun launch through
``tools/dist_train.sh`` trains on a split of the data."""
import math
import re
import shutil
from pathlib import Path

import pytest
import torch

CONFIG = 'configs/demo/mae_demo.py'
ITERS_PER_EPOCH = 400 // 32  # demo train set / batch size, drop_last


def _data_options(demo_data: Path) -> list:
    return [
        f'train_dataloader.dataset.data_root={demo_data}/imagenet/',
        'default_hooks.logger.interval=4',
    ]


def _load(path: Path) -> dict:
    # our own checkpoint, written by this test: a full unpickle is safe
    return torch.load(str(path), map_location='cpu', weights_only=False)


def _losses(text: str) -> list:
    return [float(v) for v in re.findall(r'\sloss: ([0-9.]+)', text)]


def _fail_message(proc) -> str:
    return (f'exit {proc.returncode}\n--- stdout (tail)\n{proc.stdout[-3000:]}'
            f'\n--- stderr (tail)\n{proc.stderr[-3000:]}')


@pytest.fixture(scope='module')
def trained(tmp_path_factory, demo_data, run_tool):
    """One epoch of the MAE demo (12 iterations) in a fresh work dir."""
    work_dir = tmp_path_factory.mktemp('mae_demo_1ep')
    proc = run_tool([
        'tools/train.py', CONFIG, '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_epochs=1',
        *_data_options(demo_data)
    ],
                    timeout=240)
    return work_dir, proc


def test_train_writes_checkpoint(trained):
    work_dir, proc = trained
    assert proc.returncode == 0, _fail_message(proc)
    ckpt = work_dir / 'epoch_1.pth'
    assert ckpt.is_file()
    assert (work_dir / 'last_checkpoint').read_text().strip() == str(ckpt)
    state = _load(ckpt)
    assert state['meta']['epoch'] == 1
    assert state['meta']['iter'] == ITERS_PER_EPOCH
    weights = state['state_dict']
    assert tuple(weights['backbone.cls_token'].shape) == (1, 1, 192)
    assert tuple(weights['backbone.pos_embed'].shape) == (1, 65, 192)
    assert 'backbone.layers.3.ffn.layers.1.weight' in weights
    assert 'backbone.layers.4.ln1.weight' not in weights
    losses = _losses(proc.stdout + proc.stderr)
    assert len(losses) == ITERS_PER_EPOCH // 4
    assert all(math.isfinite(v) and 0 < v < 10 for v in losses), losses
    # the training log names our config and the CPU run
    assert 'Distributed training: False' in proc.stdout + proc.stderr


def test_resume_auto_continues(trained, tmp_path, demo_data, run_tool):
    src, first = trained
    assert first.returncode == 0, _fail_message(first)
    work_dir = tmp_path / 'resumed'
    shutil.copytree(src, work_dir)
    # last_checkpoint holds an absolute path: point it at the copy
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_1.pth'))
    proc = run_tool([
        'tools/train.py', CONFIG, '--work-dir',
        str(work_dir), '--resume', '--cfg-options', 'train_cfg.max_epochs=2',
        *_data_options(demo_data)
    ],
                    timeout=240)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 and 'Weights only load failed' in output:
        pytest.xfail('torch>=2.6 weights_only load of an mmengine checkpoint '
                     'failed: mkd_mm.utils.checkpoint_io must register the '
                     'safe globals on import')
    assert proc.returncode == 0, _fail_message(proc)
    assert f'resumed epoch: 1, iter: {ITERS_PER_EPOCH}' in output
    epoch1, epoch2 = (_load(work_dir / f'epoch_{e}.pth') for e in (1, 2))
    assert epoch2['meta']['epoch'] == 2
    assert epoch2['meta']['iter'] == 2 * ITERS_PER_EPOCH
    # the optimizer state was restored, not restarted
    steps = {float(s['step']) for s in epoch2['optimizer']['state'].values()}
    assert steps == {2.0 * ITERS_PER_EPOCH}
    w1 = epoch1['state_dict']['backbone.layers.0.attn.qkv.weight']
    w2 = epoch2['state_dict']['backbone.layers.0.attn.qkv.weight']
    assert not torch.equal(w1, w2)
    # only the second epoch ran
    assert 'Epoch(train) [1]' not in output
    assert 'Epoch(train) [2]' in output


def test_missing_config_fails_before_building(tmp_path, run_tool):
    work_dir = tmp_path / 'never'
    proc = run_tool([
        'tools/train.py', 'configs/demo/no_such_config.py', '--work-dir',
        str(work_dir)
    ],
                    timeout=120)
    assert proc.returncode == 2
    assert "config file not found: 'configs/demo/no_such_config.py'" in \
        proc.stderr
    assert not work_dir.exists()
    assert 'Traceback' not in proc.stderr


def test_unknown_cfg_option_fails_before_building(tmp_path, run_tool):
    work_dir = tmp_path / 'never'
    proc = run_tool([
        'tools/train.py', CONFIG, '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_epochs=1',
        'modle.backbone.arch=s'
    ],
                    timeout=180)
    assert proc.returncode == 2
    assert ("unknown --cfg-options key 'modle.backbone.arch': 'modle' does "
            "not exist in the config (did you mean 'model'?)") in proc.stderr
    assert not work_dir.exists()
    assert 'Traceback' not in proc.stderr
    assert 'mmengine - INFO' not in proc.stdout + proc.stderr


def test_dist_train_two_cpu_processes(tmp_path, demo_data, run_tool, free_port,
                                      repo_root):
    """torchrun with 2 processes on the CPU (gloo backend, CPU DDP)."""
    work_dir = tmp_path / 'dist'
    proc = run_tool([
        'tools/dist_train.sh', CONFIG, '2', '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_epochs=1',
        'train_dataloader.num_workers=0', *_data_options(demo_data)
    ],
                    python=False,
                    env=dict(
                        PYTHON=str(repo_root / '.venv' / 'bin' / 'python') if
                        (repo_root / '.venv' / 'bin' /
                         'python').exists() else 'python',
                        PORT=str(free_port)),
                    timeout=300)
    assert proc.returncode == 0, _fail_message(proc)
    output = proc.stdout + proc.stderr
    assert 'Distributed training: True' in output
    assert "'backend': 'gloo'" in output
    state = _load(work_dir / 'epoch_1.pth')
    # each of the 2 ranks sees half of the 400 images: 6 batches of 32
    assert state['meta']['iter'] == 400 // (2 * 32)
    assert state['meta']['epoch'] == 1
