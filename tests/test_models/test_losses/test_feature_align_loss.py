# Copyright (c) mkd_mm contributors. All rights reserved.
import pytest
import torch
from mmpretrain.registry import MODELS

import mkd_mm  # noqa: F401


def _loss(**kwargs):
    return MODELS.build(dict(type='FeatureAlignLoss', **kwargs))


def test_l1_with_l2_normalisation_by_hand():
    # one token: pred (3, 4) -> (0.6, 0.8); target (2, 0) -> (1, 0)
    pred = torch.tensor([[[3., 4.]]])
    target = torch.tensor([[[2., 0.]]])
    assert _loss()(pred, target).item() == pytest.approx((0.4 + 0.8) / 2)
    # Eq. 2 of the paper: raw L1, mean over elements
    assert _loss(normalize=False)(pred, target).item() == pytest.approx(
        (1 + 4) / 2)
    # L2 (MSE) ablation, normalised
    assert _loss(criterion='L2')(pred, target).item() == pytest.approx(
        (0.4**2 + 0.8**2) / 2)
    assert _loss(
        criterion='L2', normalize=False)(pred, target).item() == pytest.approx(
            (1 + 16) / 2)


def test_mean_over_all_elements_and_tokens():
    torch.manual_seed(0)
    pred = torch.randn(2, 5, 7)
    target = torch.randn(2, 5, 7)
    pn = pred / pred.norm(dim=-1, keepdim=True)
    tn = target / target.norm(dim=-1, keepdim=True)
    expected = (pn - tn).abs().sum() / (2 * 5 * 7)
    assert _loss()(pred, target).item() == pytest.approx(
        expected.item(), rel=1e-6)
    # zero token: F.normalize's eps keeps it finite (official behaviour)
    pred[0, 0] = 0
    assert torch.isfinite(_loss()(pred, target))


def test_gradient_reaches_pred_only_and_fp32():
    pred = torch.randn(2, 3, 4, requires_grad=True)
    target = torch.randn(2, 3, 4, requires_grad=True)
    loss = _loss()(pred.half().float(), target.half())
    assert loss.dtype == torch.float32
    loss.backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    assert target.grad is None


def test_bad_arguments():
    with pytest.raises(ValueError, match='criterion'):
        _loss(criterion='cosine')
    with pytest.raises(ValueError, match='differ in shape'):
        _loss()(torch.randn(1, 2, 3), torch.randn(1, 2, 4))
