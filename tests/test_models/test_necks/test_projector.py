# Copyright (c) mkd_mm contributors. All rights reserved.
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

import mkd_mm  # noqa: F401


def _proj(**kwargs):
    cfg = dict(type='FeatureProjector', in_channels=24, out_channels=40)
    cfg.update(kwargs)
    proj = MODELS.build(cfg)
    proj.init_weights()
    return proj


def _linears(proj):
    return [m for m in proj.modules() if isinstance(m, nn.Linear)]


@pytest.mark.parametrize('mode,shapes', [
    ('linear', [(40, 24)]),
    ('mlp', [(40, 24), (40, 40)]),
    ('mlp3', [(40, 24), (40, 40), (40, 40)]),
])
def test_modes_shapes(mode, shapes):
    proj = _proj(mode=mode)
    assert [tuple(m.weight.shape) for m in _linears(proj)] == shapes
    x = torch.randn(2, 5, 24)
    assert proj(x).shape == (2, 5, 40)
    n_gelu = sum(isinstance(m, nn.GELU) for m in proj.modules())
    assert n_gelu == len(shapes) - 1


def test_mlp_is_linear_gelu_linear_with_custom_hidden():
    proj = _proj(mode='mlp', hidden_channels=8)
    fc1, fc2 = _linears(proj)
    assert fc1.out_features == 8 and fc2.in_features == 8
    x = torch.randn(3, 24)
    expected = F.linear(
        F.gelu(F.linear(x, fc1.weight, fc1.bias)), fc2.weight, fc2.bias)
    assert torch.allclose(proj(x), expected)


def test_xavier_init_zero_bias():
    torch.manual_seed(0)
    proj = _proj(mode='mlp', in_channels=256, out_channels=512)
    for m in _linears(proj):
        fan_out, fan_in = m.weight.shape
        bound = math.sqrt(6 / (fan_in + fan_out))
        assert m.weight.abs().max() <= bound
        # uniform(-b, b) has std b / sqrt(3)
        assert m.weight.std().item() == pytest.approx(
            bound / math.sqrt(3), rel=0.05)
        assert torch.count_nonzero(m.bias) == 0


def test_default_init_is_pytorch_linear_default():
    torch.manual_seed(0)
    proj = _proj(
        mode='linear', in_channels=256, out_channels=512, init='default')
    (m, ) = _linears(proj)
    bound = 1 / math.sqrt(256)  # kaiming_uniform(a=sqrt(5)) and bias bound
    assert m.weight.abs().max() <= bound
    assert m.weight.std().item() == pytest.approx(
        bound / math.sqrt(3), rel=0.05)
    assert torch.count_nonzero(m.bias) > 0
    assert m.bias.abs().max() <= bound


def test_bad_arguments():
    with pytest.raises(ValueError, match='mode'):
        _proj(mode='mlp-2layer')
    with pytest.raises(ValueError, match='init'):
        _proj(init='trunc_normal')
