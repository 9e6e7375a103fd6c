# Copyright (c) mkd_mm contributors. All rights reserved.
"""``FrozenAwareOptimWrapperConstructor``: the optimizer of the default
constructor, without one WARNING per frozen teacher tensor."""
import logging

import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS

import mkd_mm  # noqa: F401
from mkd_mm.testing import tiny_dbot_cfg


def _build(constructor, records):
    """Build a tiny DBOT and its optimizer; return the new log records."""
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(tiny_dbot_cfg())
    model.init_weights()
    cfg = dict(
        type='OptimWrapper',
        optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
        paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
    if constructor:
        cfg['constructor'] = constructor
    start = len(records)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        wrapper = build_optim_wrapper(model, cfg)
    return model, wrapper, records[start:]


def test_same_groups_without_per_tensor_warnings(mmlogger_records):
    model, default, default_logs = _build(None, mmlogger_records)
    _, ours, our_logs = _build(
        'mmpretrain.FrozenAwareOptimWrapperConstructor', mmlogger_records)
    names = {id(p): n for n, p in model.named_parameters()}
    frozen_teacher = [
        n for n, p in model.named_parameters()
        if n.startswith('teacher.') and not p.requires_grad
    ]
    assert len(frozen_teacher) > 10

    def groups(wrapper):
        return [(tuple(p.shape for p in g['params']), g['lr'],
                 g['weight_decay']) for g in wrapper.optimizer.param_groups]

    assert groups(ours) == groups(default)
    ours_params = [p for g in ours.optimizer.param_groups for p in g['params']]
    assert not any(names.get(id(p), '').startswith('teacher.')
                   for p in ours_params)
    warned = [m for level, m in default_logs if level == logging.WARNING
              and m.startswith('teacher.')]
    assert len(warned) == len(frozen_teacher)
    assert not [m for level, m in our_logs if level == logging.WARNING
                and m.startswith('teacher')]
    info = [m for _, m in our_logs if 'frozen parameters left out' in m]
    assert info == [f'teacher: {len(frozen_teacher)} frozen parameters '
                    'left out of the optimizer']
