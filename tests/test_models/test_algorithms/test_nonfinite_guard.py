# Copyright (c) mkd_mm contributors. All rights reserved.
"""The non-finite guard of ``BaseDistiller.train_step``: injected NaN/Inf
losses and gradients are skipped (no weight change, no optimizer state
change), named with the iteration and the loss term, and the run stops after
``max_consecutive`` bad steps in a row; AMP overflows go through the loss
scaler; accumulation windows with a bad micro-batch are skipped whole."""
import copy
import logging
from unittest import mock

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from test_dmae import dmae_cfg

import mkd_mm  # noqa: F401
from mkd_mm.models.utils.nonfinite_guard import (NonFiniteGuard,
                                                 NonFiniteLossError,
                                                 total_grad_norm)
from mkd_mm.testing import tiny_dbot_cfg

GUARD_LOG = 'mkd_mm.models.utils.nonfinite_guard.print_log'
NUM_PATCHES = 16  # 32 px, patch 8


def _batch(size: int, seed: int, img: int = 32) -> dict:
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randint(
        0, 256, (size, 3, img, img), generator=g, dtype=torch.uint8)
    samples = []
    for _ in range(size):
        mask = torch.zeros(NUM_PATCHES)
        mask[torch.randperm(NUM_PATCHES, generator=g)[:12]] = 1
        samples.append(DataSample().set_mask(mask))
    return dict(inputs=inputs, data_samples=samples)


def _build(cfg: dict) -> nn.Module:
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    model.train()
    return model


def _adamw(model: nn.Module, **kwargs) -> OptimWrapper:
    params = [p for p in model.parameters() if p.requires_grad]
    return OptimWrapper(torch.optim.AdamW(params, lr=1e-3), **kwargs)


def _student(model: nn.Module) -> dict:
    return {
        n: p.detach().clone()
        for n, p in model.named_parameters() if p.requires_grad
    }


def _same(a: dict, b: dict) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


def _poison(module: nn.Module, attr: str, flag: list) -> None:
    """Multiply ``module.attr(...)``'s output by NaN while ``flag[0]``."""
    original = getattr(module, attr)

    def poisoned(*args, **kwargs):
        out = original(*args, **kwargs)
        if not flag[0]:
            return out
        if isinstance(out, dict):
            return {k: v * float('nan') for k, v in out.items()}
        return out * float('nan')

    setattr(module, attr, poisoned)


@pytest.fixture
def message_hub():
    hub = MessageHub.get_instance('test_nonfinite_guard')
    yield hub
    hub.update_info('iter', None)


def test_config_validation():
    guard = NonFiniteGuard.from_cfg(None)
    assert (guard.max_consecutive, guard.check_grad_norm) == (10, True)
    assert NonFiniteGuard.from_cfg(dict(enable=False)) is None
    assert NonFiniteGuard.from_cfg(dict(max_consecutive=2)).max_consecutive \
        == 2
    with pytest.raises(
            ValueError,
            match=r'nonfinite_guard.max_consecutive'
            r'` must be an integer >= 1, but got 0'):
        NonFiniteGuard.from_cfg(dict(max_consecutive=0))
    with pytest.raises(
            ValueError,
            match=r"unknown key\(s\) \['max_steps'\] "
            r'in `model.nonfinite_guard`'):
        NonFiniteGuard.from_cfg(dict(max_steps=3))
    with pytest.raises(ValueError, match='must be a dict'):
        NonFiniteGuard.from_cfg(3)
    # the model config key is validated when the model is built
    with pytest.raises(ValueError, match='max_consecutive'):
        MODELS.build(tiny_dbot_cfg(nonfinite_guard=dict(max_consecutive=1.5)))
    model = MODELS.build(tiny_dbot_cfg(nonfinite_guard=dict(enable=False)))
    assert model.nonfinite_guard is None


def test_nan_loss_is_skipped_then_stops(message_hub):
    """dBOT, fp32: NaN steps change nothing; 3 in a row stop the run."""
    model = _build(tiny_dbot_cfg(nonfinite_guard=dict(max_consecutive=3)))
    optim_wrapper = _adamw(model)
    flag = [False]
    _poison(model, 'loss', flag)
    # iterations 1..7 (runner.iter 0..6): good, bad, bad, good, bad, bad, bad
    plan = [False, True, True, False, True, True, True]
    with mock.patch(GUARD_LOG) as log:
        for it, bad in enumerate(plan[:-1]):
            message_hub.update_info('iter', it)
            before = _student(model)
            flag[0] = bad
            log_vars = model.train_step(_batch(4, it), optim_wrapper)
            after = _student(model)
            assert torch.isfinite(log_vars['loss']) != bad
            assert _same(before, after) == bad
            assert all(torch.isfinite(v).all() for v in after.values())
            assert all(p.grad is None for p in model.parameters())
        states = optim_wrapper.optimizer.state.values()
        steps = {int(state['step']) for state in states}
        assert steps == {2}  # only the 2 good steps reached AdamW
        assert model.nonfinite_guard.consecutive == 2
        warnings = [
            c for c in log.call_args_list
            if c.kwargs['level'] == logging.WARNING
        ]
        assert len(warnings) == 4
        first = warnings[0].args[0]
        assert "non-finite loss term 'loss' and gradient norm at " \
               'iteration 2' in first
        assert '1 bad step(s) in a row' in first
        assert '2 bad step(s) in a row' in warnings[1].args[0]
        assert 'iteration 6' in warnings[-1].args[0]

        message_hub.update_info('iter', 6)
        before = _student(model)
        flag[0] = True
        with pytest.raises(
                NonFiniteLossError,
                match=r"Stopping: non-finite loss term 'loss' .*"
                r'iteration 7.*3 bad step\(s\) in a row'):
            model.train_step(_batch(4, 6), optim_wrapper)
    assert _same(before, _student(model))


def test_dmae_names_the_bad_term(message_hub):
    """Only the alignment term is NaN: the error names it, not loss_rec."""
    model = _build(dmae_cfg(nonfinite_guard=dict(max_consecutive=1)))
    optim_wrapper = _adamw(model)
    _poison(model.align_loss, 'forward', [True])
    message_hub.update_info('iter', 41)
    before = _student(model)
    with pytest.raises(NonFiniteLossError) as info:
        model.train_step(_batch(2, 0), optim_wrapper)
    msg = str(info.value)
    assert "loss term 'loss_align'" in msg and 'loss_rec' not in msg
    assert 'iteration 42' in msg
    assert _same(before, _student(model))


def test_nonfinite_gradient_with_finite_loss(message_hub):
    """An inf gradient behind a finite loss is caught by the grad norm."""
    results = {}
    for check in (True, False):
        model = _build(
            tiny_dbot_cfg(
                nonfinite_guard=dict(max_consecutive=2,
                                     check_grad_norm=check)))
        optim_wrapper = _adamw(model)
        model.backbone.cls_token.register_hook(lambda g: g * float('inf'))
        message_hub.update_info('iter', 0)
        with mock.patch(GUARD_LOG) as log:
            log_vars = model.train_step(_batch(2, 0), optim_wrapper)
        assert torch.isfinite(log_vars['loss'])
        results[check] = (model, log)
    model, log = results[True]
    assert torch.isfinite(model.backbone.cls_token).all()
    assert 'non-finite gradient norm at iteration 1' in \
        log.call_args.args[0]
    # without the check the step goes through and poisons the weights
    model, log = results[False]
    assert not torch.isfinite(model.backbone.cls_token).all()
    log.assert_not_called()


def test_bad_micro_batch_skips_the_accumulation_window(message_hub):
    model = _build(tiny_dbot_cfg(nonfinite_guard=dict(max_consecutive=3)))
    reference = copy.deepcopy(model)
    optim_wrapper = _adamw(model, accumulative_counts=2)
    flag = [True]
    _poison(model, 'loss', flag)
    message_hub.update_info('iter', 0)
    with mock.patch(GUARD_LOG) as log:
        model.train_step(_batch(2, 0), optim_wrapper)  # bad, accumulating
        assert model.nonfinite_guard.consecutive == 0
        flag[0] = False
        message_hub.update_info('iter', 1)
        model.train_step(_batch(2, 1), optim_wrapper)  # good, update step
    assert _same(_student(reference), _student(model))
    assert model.nonfinite_guard.consecutive == 1
    assert "loss term 'loss'" in log.call_args.args[0]
    assert 'iteration 2' in log.call_args.args[0]
    # the next window is clean and updates
    for it in (2, 3):
        model.train_step(_batch(2, it), optim_wrapper)
    assert not _same(_student(reference), _student(model))
    assert model.nonfinite_guard.consecutive == 0


def _cpu_amp_wrapper(model: nn.Module) -> AmpOptimWrapper:
    """An AmpOptimWrapper whose loss scaler works on the CPU."""
    with mock.patch(
            'mmengine.optim.optimizer.amp_optimizer_wrapper.'
            'is_cuda_available',
            return_value=True):
        wrapper = AmpOptimWrapper(
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    wrapper.loss_scaler = torch.amp.GradScaler('cpu', init_scale=2.**16)
    return wrapper


def test_amp_overflow_goes_through_the_loss_scaler(message_hub):
    """AMP: the scaler skips the step and backs off; N in a row stop."""
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    optim_wrapper = _cpu_amp_wrapper(model)
    guard = NonFiniteGuard(max_consecutive=3)
    x = torch.ones(2, 4)
    overflow = [True]
    model.weight.register_hook(lambda g: g * float('inf')
                               if overflow[0] else g)

    def step(it):
        message_hub.update_info('iter', it)
        loss = model(x).sum()
        guard.update_params(loss, dict(loss=loss), optim_wrapper)

    with mock.patch(GUARD_LOG) as log:
        for it in range(2):
            before = model.weight.detach().clone()
            step(it)
            assert torch.equal(before, model.weight)
            assert optim_wrapper.loss_scaler.get_scale() == 2.**(15 - it)
        assert guard.consecutive == 2
        # a routine overflow with a finite loss is logged at INFO
        assert {c.kwargs['level'] for c in log.call_args_list} == \
            {logging.INFO}
        assert 'gradient norm at iteration 2' in log.call_args.args[0]
    overflow[0] = False
    before = model.weight.detach().clone()
    step(2)
    assert not torch.equal(before, model.weight)
    assert guard.consecutive == 0
    overflow[0] = True
    with mock.patch(GUARD_LOG):
        step(3)
        step(4)
        with pytest.raises(NonFiniteLossError, match='iteration 6'):
            step(5)
    assert torch.isfinite(model.weight).all()


def test_total_grad_norm_is_one_foreach_call():
    gen = torch.Generator().manual_seed(0)
    params = [nn.Parameter(torch.zeros(s)) for s in [(7, 5), (3, ), (4, 4)]]
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen)
    params.append(nn.Parameter(torch.zeros(2)))  # no gradient
    expected = torch.cat([p.grad.flatten() for p in params[:3]]).norm()
    with mock.patch('torch.linalg.vector_norm',
                    wraps=torch.linalg.vector_norm) as per_call:
        norm = total_grad_norm(params)
    torch.testing.assert_close(norm, expected)
    assert per_call.call_count <= 1  # not one call per parameter
    assert float(total_grad_norm([])) == 0.0
    # half-precision gradients: accumulated in float32, no overflow
    half = nn.Parameter(torch.zeros(100, dtype=torch.float16))
    half.grad = torch.full((100, ), 1000., dtype=torch.float16)
    assert float(total_grad_norm([half])) == pytest.approx(1e4)
    half.grad[3] = float('inf')
    assert float(total_grad_norm([half])) == float('inf')
    params[1].grad[0] = float('nan')
    assert torch.isnan(total_grad_norm(params))


@pytest.mark.parametrize('max_norm', [0.05, 1e6])
def test_norm_clipping_reuses_the_guard_norm(message_hub, max_norm):
    """With ``clip_grad`` the guard's norm is the one mmengine would log
    and clip with (computed once); the update equals mmengine's own."""
    batch = _batch(4, seed=0)
    results = []
    for guarded in (True, False):
        model = _build(
            tiny_dbot_cfg(nonfinite_guard=dict(enable=guarded)))
        wrapper = _adamw(model, clip_grad=dict(max_norm=max_norm))
        with mock.patch.object(
                wrapper, 'clip_func',
                wraps=wrapper.clip_func) as clip_func:
            for _ in range(2):
                model.train_step(batch, wrapper)
        results.append((_student(model), clip_func.call_count,
                        message_hub.get_scalar('train/grad_norm').current()))
    (guarded, guarded_calls, guarded_norm), (plain, plain_calls,
                                             plain_norm) = results
    assert (guarded_calls, plain_calls) == (0, 2)
    assert guarded_norm == pytest.approx(plain_norm, rel=1e-5)
    for name in plain:
        torch.testing.assert_close(guarded[name], plain[name])
