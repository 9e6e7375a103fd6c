# Copyright (c) mkd_mm contributors. All rights reserved.
"""``MKDRunner.scale_lr``: the total batch counts gradient accumulation, is
logged, scales the lr linearly when enabled and is warned about when it
differs from the recipe's; and every config follows the convention."""
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper

import mkd_mm  # noqa: F401
from mkd_mm.engine.runner import MKDRunner

REPO = Path(__file__).resolve().parents[3]


def _scale(world, per_gpu, accum, auto_scale_lr, lr=2.4e-3):
    """Run ``MKDRunner.scale_lr`` on a stand-in runner; return the lr."""
    model = torch.nn.Linear(2, 2)
    wrapper = OptimWrapper(
        torch.optim.AdamW(model.parameters(), lr=lr),
        accumulative_counts=accum)
    fake = SimpleNamespace(
        world_size=world, _train_dataloader=dict(batch_size=per_gpu))
    fake.batch_sizes = lambda ow: MKDRunner.batch_sizes(fake, ow)
    MKDRunner.scale_lr(fake, wrapper, auto_scale_lr)
    return wrapper.optimizer.param_groups[0]['lr']


def test_recipe_batch_keeps_the_lr(mmlogger_records):
    # the official dBOT/DMAE batch: 8 GPUs x 128 x 4 accumulation steps
    lr = _scale(8, 128, 4, dict(base_batch_size=4096, enable=True))
    logs = mmlogger_records
    assert lr == pytest.approx(2.4e-3)
    assert logs == [(logging.INFO, 'Total batch 4096 = 8 processes x 128 per '
                     'process x 4 accumulation steps; learning rate 0.0024 '
                     '(scaled x1 from 0.0024 at the recipe batch 4096 '
                     '(auto_scale_lr.enable=True)).')]


def test_accumulation_counts_in_the_ratio(mmlogger_records):
    # mmengine's Runner.scale_lr would use 16 x 128 = 2048 (ratio 0.5)
    lr = _scale(16, 128, 4, dict(base_batch_size=4096, enable=True))
    logs = mmlogger_records
    assert lr == pytest.approx(4.8e-3)
    warning = [m for level, m in logs if level == logging.WARNING]
    assert len(warning) == 1
    assert "total batch 8192 differs from the recipe's 4096" in warning[0]
    assert 'optim_wrapper.accumulative_counts=2' in warning[0]


def test_disabled_scaling_warns_and_keeps_the_lr(mmlogger_records):
    lr = _scale(32, 128, 4, dict(base_batch_size=4096, enable=False))
    logs = mmlogger_records
    assert lr == pytest.approx(2.4e-3)
    assert 'not scaled' in logs[0][1]
    assert 'the learning rate was NOT scaled' in logs[1][1]
    assert 'optim_wrapper.accumulative_counts=1' in logs[1][1]


def test_no_recipe_batch_is_warned(mmlogger_records):
    lr = _scale(1, 8, 1, None)
    logs = mmlogger_records
    assert lr == pytest.approx(2.4e-3)
    assert logs[1][0] == logging.WARNING
    assert 'no `auto_scale_lr.base_batch_size`' in logs[1][1]
    with pytest.raises(ValueError, match='base_batch_size'):
        _scale(1, 8, 1, dict(enable=True))


def _leaf_configs():
    return sorted(
        str(p.relative_to(REPO)) for p in (REPO / 'configs').rglob('*.py')
        if '_base_' not in p.parts)


@pytest.mark.parametrize('config', _leaf_configs())
def test_every_config_states_its_batch(config):
    """``runner_type`` MKDRunner and the recipe's total batch everywhere."""
    cfg = Config.fromfile(str(REPO / config))
    assert cfg.runner_type == 'mmpretrain.MKDRunner'
    base = cfg.auto_scale_lr.base_batch_size
    per_gpu = cfg.train_dataloader.batch_size
    accum = cfg.optim_wrapper.get('accumulative_counts', 1)
    if config.startswith('configs/demo/'):
        assert base == per_gpu * accum  # one process
    elif config.startswith(('configs/dbot/', 'configs/dmae/',
                            'configs/mae/')):
        assert base == 4096 == 8 * per_gpu * accum
    else:  # transfer: the total of the file name, e.g. 32xb32, 8xb2048
        import re
        gpus, batch = map(int, re.search(r'_(\d+)xb(\d+)',
                                         config).groups())
        assert (per_gpu, base) == (batch, gpus * batch * accum)
