# Copyright (c) mkd_mm contributors. All rights reserved.
"""Gradient accumulation: ``accumulative_counts=2`` over two batches of 4
gives the gradient (and the update) of one batch of 8, for dBOT and DMAE,
through ``BaseDistiller.train_step``; every student parameter gets a
gradient (so DDP needs no ``find_unused_parameters``)."""
import copy

import pytest
import torch
from dist_helpers import IMG, sample_mask, tiny_model_cfg
from mmengine.optim import OptimWrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mkd_mm  # noqa: F401

LR = 1.0  # plain SGD: the update is minus the gradient


def batch(indices) -> dict:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(
        0, 256, (16, 3, IMG, IMG), generator=g, dtype=torch.uint8)
    return dict(
        inputs=images[list(indices)],
        data_samples=[DataSample().set_mask(sample_mask(i)) for i in indices])


def build(algorithm: str):
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg(algorithm))
    model.init_weights()
    model.train()
    return model


def sgd(model, **kwargs) -> OptimWrapper:
    params = [p for p in model.parameters() if p.requires_grad]
    return OptimWrapper(torch.optim.SGD(params, lr=LR), **kwargs)


def gradients(before: torch.nn.Module, after: torch.nn.Module) -> dict:
    """The applied gradient ``(before - after) / LR`` per parameter."""
    new = dict(after.named_parameters())
    return {
        n: (p.detach() - new[n].detach()) / LR
        for n, p in before.named_parameters() if p.requires_grad
    }


@pytest.mark.parametrize('algorithm', ['dbot', 'dmae'])
def test_accumulation_matches_large_batch(algorithm):
    initial = build(algorithm)
    large, accumulated = copy.deepcopy(initial), copy.deepcopy(initial)

    large.train_step(batch(range(8)), sgd(large))
    wrapper = sgd(accumulated, accumulative_counts=2)
    accumulated.train_step(batch(range(4)), wrapper)
    # nothing moves until the window is complete
    assert all(
        torch.equal(p, q)
        for p, q in zip(initial.parameters(), accumulated.parameters()))
    accumulated.train_step(batch(range(4, 8)), wrapper)

    g_large = gradients(initial, large)
    g_accum = gradients(initial, accumulated)
    for name, grad in g_large.items():
        assert torch.allclose(g_accum[name], grad, atol=1e-6, rtol=1e-4), name
    # a real check: the gradients are far from zero
    total = torch.cat([g.flatten() for g in g_large.values()])
    assert total.abs().max() > 1e-3


@pytest.mark.parametrize('algorithm', ['dbot', 'dmae'])
def test_every_student_parameter_gets_a_gradient(algorithm):
    model = build(algorithm)
    data = model.data_preprocessor(batch(range(4)), True)
    loss, _ = model.parse_losses(model(**data, mode='loss'))
    loss.backward()
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and not [n for n in trainable if 'teacher' in n]
    unused = [n for n, p in trainable.items() if p.grad is None]
    assert not unused, f'parameters without gradient: {unused}'
    assert all(p.grad is None for p in model.teacher.parameters())
