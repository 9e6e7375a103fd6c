# Copyright (c) mkd_mm contributors. All rights reserved.
"""Skip (or stop on) optimisation steps with a non-finite loss or gradient.

:class:`NonFiniteGuard` replaces ``optim_wrapper.update_params`` in
:meth:`BaseDistiller.train_step`. It uses only the optimizer wrapper's
public API (``scale_loss``, ``backward``, ``should_update``, ``step``,
``zero_grad``), so ``accumulative_counts`` and ``AmpOptimWrapper`` work as
usual.
"""
import logging
import math
from typing import Dict, List, Optional, Sequence

import torch
import torch.distributed as torch_dist
from mmengine.logging import MessageHub, print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper

LossDict = Dict[str, torch.Tensor]

#: the keys of ``model.nonfinite_guard`` and their defaults
GUARD_DEFAULTS = dict(enable=True, max_consecutive=10, check_grad_norm=True)


class NonFiniteLossError(RuntimeError):
    """Training produced non-finite values for too many consecutive steps."""


def loss_terms(losses: LossDict) -> LossDict:
    """The terms ``parse_losses`` sums into the total loss.

    Args:
        losses (Dict[str, torch.Tensor]): Output of ``model.loss``.

    Returns:
        Dict[str, torch.Tensor]: The entries whose key contains ``'loss'``
        (mmengine's rule), lists summed.
    """
    terms = {}
    for name, value in losses.items():
        if 'loss' not in name:
            continue
        if isinstance(value, (list, tuple)):
            value = sum(v.mean() for v in value)
        terms[name] = value
    return terms


def total_grad_norm(params: Sequence[torch.Tensor],
                    norm_type: float = 2.0) -> torch.Tensor:
    """Norm of all gradients together (0 if there are none).

    One multi-tensor call (``torch.nn.utils.get_total_norm``, or
    ``torch._foreach_norm`` on older torch) instead of one kernel per
    parameter.

    Args:
        params (Sequence[torch.Tensor]): Parameters.
        norm_type (float): Type of the norm. Defaults to 2.0.

    Returns:
        torch.Tensor: A float32 scalar; inf/nan if any gradient is.
    """
    grads = [p.grad.detach() for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    if hasattr(torch.nn.utils, 'get_total_norm') and all(
            g.dtype == torch.float32 for g in grads):
        return torch.nn.utils.get_total_norm(grads, norm_type)
    # half-precision gradients: per-tensor norms accumulated in float32,
    # as a half norm could overflow where the float32 one does not
    norms = torch._foreach_norm(grads, norm_type, dtype=torch.float32)
    return torch.linalg.vector_norm(torch.stack(norms), norm_type)


def _shared_norm_clip(optim_wrapper: OptimWrapper) -> Optional[dict]:
    """``clip_grad`` kwargs when the guard can clip for the wrapper.

    With a plain :class:`OptimWrapper` (``step`` not overridden) and
    ``clip_grad=dict(type='norm', ...)``, mmengine would compute the
    gradient norm a second time in ``step``; the guard computes it once,
    clips with it and steps the optimizer itself. AMP wrappers clip the
    unscaled gradients, so they keep their own path.
    """
    if (type(optim_wrapper).step is not OptimWrapper.step
            or not optim_wrapper.clip_grad_kwargs
            or getattr(optim_wrapper, 'grad_name', None) != 'grad_norm'
            or not hasattr(torch.nn.utils, 'clip_grads_with_norm_')):
        return None
    return optim_wrapper.clip_grad_kwargs


class NonFiniteGuard:
    """Detect non-finite losses and gradient norms, skip, and give up.

    For each optimisation step (every ``accumulative_counts`` calls):

    - every summed loss term is checked in every micro-batch, and the total
      gradient norm before the update (``check_grad_norm``);
    - in distributed runs the verdict is all-reduced, so every rank takes
      the same decision (and DDP cannot deadlock);
    - a bad step is skipped: with :class:`OptimWrapper` the gradients are
      zeroed and the optimizer does not step (no weight decay, no moment
      update); with :class:`AmpOptimWrapper` ``step`` is still called, so
      the loss scaler skips the update itself and lowers its scale (an
      ordinary overflow is therefore logged at INFO, not as a failure);
    - a WARNING names the iteration and the bad term(s); after
      ``max_consecutive`` bad steps in a row (any good step resets the
      count) :class:`NonFiniteLossError` is raised with the same
      information, so a diverged run stops instead of spinning.

    Args:
        max_consecutive (int): Bad steps in a row that stop the run.
            Defaults to 10 (loose enough for the loss scaler's first
            back-offs under AMP).
        check_grad_norm (bool): Also check the gradient norm. Defaults to
            True.
    """

    def __init__(self,
                 max_consecutive: int = GUARD_DEFAULTS['max_consecutive'],
                 check_grad_norm: bool = True) -> None:
        if isinstance(max_consecutive, bool) or not isinstance(
                max_consecutive, int) or max_consecutive < 1:
            raise ValueError(
                '`model.nonfinite_guard.max_consecutive` must be an integer '
                f'>= 1, but got {max_consecutive!r}.')
        if not isinstance(check_grad_norm, bool):
            raise ValueError(
                '`model.nonfinite_guard.check_grad_norm` must be a bool, but '
                f'got {check_grad_norm!r}.')
        self.max_consecutive = max_consecutive
        self.check_grad_norm = check_grad_norm
        self.consecutive = 0
        self._bad_terms: List[str] = []

    @classmethod
    def from_cfg(cls, cfg: Optional[dict]) -> Optional['NonFiniteGuard']:
        """Build from ``model.nonfinite_guard``.

        Args:
            cfg (dict, optional): Keys of :data:`GUARD_DEFAULTS`; None gives
                the defaults; ``enable=False`` disables the guard.

        Returns:
            NonFiniteGuard | None: None when disabled.

        Raises:
            ValueError: For a value that is not a dict, an unknown key or a
                bad value, naming the key.
        """
        if cfg is None:
            cfg = {}
        if not isinstance(cfg, dict):
            raise ValueError(
                '`model.nonfinite_guard` must be a dict with keys '
                f'{sorted(GUARD_DEFAULTS)} or None, but got '
                f'{cfg!r}.')
        unknown = sorted(set(cfg) - set(GUARD_DEFAULTS))
        if unknown:
            raise ValueError(f'unknown key(s) {unknown} in '
                             '`model.nonfinite_guard`; expected some of '
                             f'{sorted(GUARD_DEFAULTS)}.')
        cfg = {**GUARD_DEFAULTS, **cfg}
        if not isinstance(cfg['enable'], bool):
            raise ValueError('`model.nonfinite_guard.enable` must be a bool, '
                             f'but got {cfg["enable"]!r}.')
        if not cfg.pop('enable'):
            return None
        return cls(**cfg)

    # --------------------------------------------------------------- steps
    def update_params(self, loss: torch.Tensor, losses: LossDict,
                      optim_wrapper: OptimWrapper) -> None:
        """Backward and (unless the step is bad) update.

        Args:
            loss (torch.Tensor): The total loss from ``parse_losses``.
            losses (Dict[str, torch.Tensor]): The loss terms (``model.loss``
                output), checked one by one.
            optim_wrapper (OptimWrapper): The optimizer wrapper.

        Raises:
            NonFiniteLossError: On the ``max_consecutive``-th bad step in a
                row.
        """
        terms = loss_terms(losses)
        for name, value in terms.items():
            if name not in self._bad_terms and not bool(
                    torch.isfinite(value.detach()).all()):
                self._bad_terms.append(name)
        optim_wrapper.backward(optim_wrapper.scale_loss(loss))
        if not optim_wrapper.should_update():
            return

        bad_terms, self._bad_terms = self._bad_terms, []
        grad_norm = None
        clip = _shared_norm_clip(optim_wrapper) if self.check_grad_norm \
            else None
        if self.check_grad_norm:
            params = [
                p for group in optim_wrapper.param_groups
                for p in group['params']
                if p.requires_grad and p.grad is not None
            ]
            norm = total_grad_norm(params,
                                   (clip or {}).get('norm_type', 2.0))
            grad_norm = float(norm)
        flags = [name in bad_terms for name in terms]
        flags.append(grad_norm is not None and not math.isfinite(grad_norm))
        flags = _all_ranks_any(flags)
        bad_terms = [name for name, bad in zip(terms, flags) if bad]
        bad_grad = flags[-1]

        amp = isinstance(optim_wrapper, AmpOptimWrapper)
        if not any(flags):
            if clip is not None and params:
                # mmengine's `_clip_grad` with the norm computed above
                torch.nn.utils.clip_grads_with_norm_(
                    params, clip['max_norm'], norm,
                    clip.get('foreach'))
                optim_wrapper.message_hub.update_scalar(
                    f'train/{optim_wrapper.grad_name}', grad_norm)
                optim_wrapper.optimizer.step()
            else:
                optim_wrapper.step()
            optim_wrapper.zero_grad()
            self.consecutive = 0
            return
        if amp:
            # the loss scaler sees the inf/nan gradients, skips the update
            # and lowers its scale
            optim_wrapper.step()
        optim_wrapper.zero_grad()
        self.consecutive += 1
        self._report(bad_terms, bad_grad, grad_norm, amp)

    def _report(self, bad_terms: List[str], bad_grad: bool,
                grad_norm: Optional[float], amp: bool) -> None:
        what = [f'loss term {name!r}' for name in bad_terms]
        if bad_grad:
            what.append('gradient norm'
                        if grad_norm is None or not math.isfinite(grad_norm)
                        else 'gradient norm (on another rank)')
        message_hub = MessageHub.get_current_instance()
        runner_iter = message_hub.get_info('iter')
        where = (f'iteration {runner_iter + 1}'
                 if runner_iter is not None else 'this iteration')
        msg = (f'non-finite {" and ".join(what)} at {where}; the update was '
               f'skipped ({self.consecutive} bad step(s) in a row, '
               f'`model.nonfinite_guard.max_consecutive` = '
               f'{self.max_consecutive}).')
        if self.consecutive >= self.max_consecutive:
            raise NonFiniteLossError(
                f'Stopping: {msg} The run diverged or the data holds '
                'NaN/Inf; lower the learning rate, enable gradient clipping '
                '(`optim_wrapper.clip_grad`) or check the data, then resume '
                'from the last checkpoint.')
        # an AMP overflow with finite losses is the loss scaler's routine
        level = logging.INFO if amp and not bad_terms else logging.WARNING
        print_log(msg, logger='current', level=level)


def _all_ranks_any(flags: List[bool]) -> List[bool]:
    """Element-wise OR of boolean flags over all ranks."""
    if not (torch_dist.is_available() and torch_dist.is_initialized()
            and torch_dist.get_world_size() > 1):
        return flags
    backend = torch_dist.get_backend()
    device = 'cuda' if backend == 'nccl' else 'cpu'
    t = torch.tensor([float(f) for f in flags], device=device)
    torch_dist.all_reduce(t, op=torch_dist.ReduceOp.MAX)
    return [bool(v) for v in t.tolist()]
