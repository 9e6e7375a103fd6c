# Copyright (c) mkd_mm contributors. All rights reserved.
"""FiniteCheckpointHook: a checkpoint with NaN/Inf weights is never
written."""
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mkd_mm  # noqa: F401
from mkd_mm.engine.hooks import FiniteCheckpointHook, NonFiniteCheckpointError
from mkd_mm.engine.hooks.finite_checkpoint_hook import first_nonfinite
from mkd_mm.testing import tiny_pretrain_runner_cfg


def _checkpoint(**state) -> dict:
    weights = dict(a=torch.ones(3), step=torch.tensor(7))
    weights.update(state)
    return dict(meta=dict(epoch=2, iter=40), state_dict=weights)


def test_first_nonfinite():
    assert first_nonfinite(dict(a=torch.ones(2), n=torch.arange(3))) is None
    tree = dict(
        a=torch.ones(2),
        b=dict(
            c=[torch.zeros(1),
               torch.tensor([1., float('inf'), float('nan')])]))
    assert first_nonfinite(tree) == ('b.c.1', 2, 3)
    half = torch.tensor([float('nan')], dtype=torch.float16)
    assert first_nonfinite(dict(h=half)) == ('h', 1, 1)


def test_hook_passes_finite_and_refuses_nonfinite():
    hook = FiniteCheckpointHook()
    hook.before_save_checkpoint(None, _checkpoint())
    bad = torch.ones(2, 2)
    bad[1, 0] = float('nan')
    with pytest.raises(
            NonFiniteCheckpointError,
            match=r"epoch 2 / iteration 40: state_dict\['backbone.w'\] has "
            r'1 non-finite value\(s\) of 4. Nothing was written'):
        hook.before_save_checkpoint(None, _checkpoint(**{'backbone.w': bad}))
    ema = _checkpoint()
    ema['ema_state_dict'] = {'module.x': torch.tensor([float('-inf')])}
    with pytest.raises(NonFiniteCheckpointError, match="ema_state_dict"):
        hook.before_save_checkpoint(None, ema)
    # only the configured keys are checked
    FiniteCheckpointHook(keys=('state_dict', )).before_save_checkpoint(
        None, ema)
    with pytest.raises(TypeError, match='tuple of checkpoint keys'):
        FiniteCheckpointHook(keys='state_dict')


def test_default_runtime_registers_it(repo_root):
    cfg = Config.fromfile(
        str(repo_root / 'configs' / '_base_' / 'default_runtime.py'))
    assert cfg.default_hooks.finite_checkpoint.type.endswith(
        'FiniteCheckpointHook')


class _PoisonWeights(Hook):
    """Put a NaN into the student after the last iteration."""

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        if runner.iter + 1 == runner.max_iters:
            with torch.no_grad():
                runner.model.backbone.cls_token.view(-1)[3] = float('nan')


def test_runner_writes_nothing(tmp_path):
    """A tiny dBOT run whose weights go NaN at the end saves no file."""
    work_dir = tmp_path / 'run'
    cfg = tiny_pretrain_runner_cfg(
        str(work_dir),
        max_epochs=2,
        stage_ends=[2],
        warmup=0.5,
        num_samples=4,
        batch_size=4)
    cfg['default_hooks']['finite_checkpoint'] = dict(
        type='FiniteCheckpointHook')
    cfg['custom_hooks'].append(_PoisonWeights())
    runner = Runner(**cfg)
    with pytest.raises(
            NonFiniteCheckpointError,
            match=r"epoch 2 / iteration 2: state_dict\["
            r"'backbone.cls_token'\] has 1 non-finite"):
        runner.train()
    files = sorted(os.listdir(work_dir))
    # epoch 1 was finite and saved; epoch 2 was refused before writing
    assert 'epoch_1.pth' in files and 'epoch_2.pth' not in files
    assert (work_dir /
            'last_checkpoint').read_text().strip().endswith('epoch_1.pth')
    state = torch.load(
        str(work_dir / 'epoch_1.pth'), map_location='cpu', weights_only=False)
    assert first_nonfinite(state['state_dict']) is None
