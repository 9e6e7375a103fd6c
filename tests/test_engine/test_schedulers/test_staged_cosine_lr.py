# Copyright (c) mkd_mm contributors. All rights reserved.
import math

import pytest
import torch

from mkd_mm.engine import StagedWarmupCosineLR


def _lrs(scheduler, optimizer, steps):
    out = []
    for _ in range(steps):
        out.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    return out


def test_warmup_cosine_restarts_each_stage():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    s = StagedWarmupCosineLR(opt, stage_ends=[10, 20], warmup=2,
                             by_epoch=False)
    lrs = _lrs(s, opt, 20)
    expected = []
    for t in range(10):
        expected.append(t / 2 if t < 2 else 0.5 *
                        (1 + math.cos(math.pi * (t - 2) / 8)))
    assert lrs == pytest.approx(expected * 2)
    assert lrs[0] == 0 and lrs[10] == 0  # warm-up starts from exactly 0


def test_epoch_based_conversion():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=2.0)
    s = StagedWarmupCosineLR.build_iter_from_epoch(
        opt, stage_ends=[2, 4], warmup=1, epoch_length=3)
    assert s.stage_ends == [6, 12] and s.warmup == 3
    lrs = _lrs(s, opt, 12)
    assert lrs[:3] == pytest.approx([0, 2 / 3, 4 / 3])
    assert lrs[6:9] == pytest.approx([0, 2 / 3, 4 / 3])


def test_bad_stage_ends():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    with pytest.raises(ValueError, match='increasing'):
        StagedWarmupCosineLR(opt, stage_ends=[10, 5], by_epoch=False)
    with pytest.raises(ValueError, match='warm-up'):
        StagedWarmupCosineLR(opt, stage_ends=[10, 12], warmup=3,
                             by_epoch=False)
