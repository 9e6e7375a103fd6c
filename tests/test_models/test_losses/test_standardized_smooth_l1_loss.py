# Copyright (c) mkd_mm contributors. All rights reserved.
import math

import pytest
import torch

from mkd_mm.models import StandardizedSmoothL1Loss


def test_loss_matches_hand_computation():
    # one sample, two tokens, three channels
    target = torch.tensor([[[1., 2., 3.], [0., 0., 6.]]])
    pred = torch.tensor([[[0., 0., 0.], [-1., 3.5, 1.]]])
    mask = torch.tensor([[1., 1.]])
    # token 0: mean 2, unbiased var 1 -> standardised (-1, 0, 1)/sqrt(1+1e-6)
    s0 = 1 / math.sqrt(1 + 1e-6)
    d0 = [s0, 0., s0]  # |pred - t| < beta=2 -> 0.5 d^2 / 2
    l0 = sum(0.25 * d * d for d in d0) / 3
    # token 1: mean 2, unbiased var (4 + 4 + 16) / 2 = 12
    s1 = 1 / math.sqrt(12 + 1e-6)
    t1 = [-2 * s1, -2 * s1, 4 * s1]
    d1 = [abs(p - t) for p, t in zip([-1., 3.5, 1.], t1)]
    l1 = sum(0.25 * d * d if d < 2 else d - 1. for d in d1) / 3
    assert any(d >= 2 for d in d1) and any(d < 2 for d in d1)
    expected = (l0 + l1) / 2
    loss = StandardizedSmoothL1Loss(beta=2.0)(pred, target, mask)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # masked mean: only token 1
    loss1 = StandardizedSmoothL1Loss()(pred, target, torch.tensor([[0., 1.]]))
    assert loss1.item() == pytest.approx(l1, rel=1e-6)


def test_loss_is_fp32_under_autocast():
    pred = torch.randn(2, 5, 8, dtype=torch.bfloat16)
    target = torch.randn(2, 5, 8)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = StandardizedSmoothL1Loss()(pred, target, torch.ones(2, 5))
    assert loss.dtype == torch.float32
    ref = StandardizedSmoothL1Loss()(pred.float(), target, torch.ones(2, 5))
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)


def test_loss_shape_mismatch():
    with pytest.raises(ValueError, match='shapes differ'):
        StandardizedSmoothL1Loss()(torch.zeros(1, 2, 3), torch.zeros(1, 2, 4))
