# Copyright (c) mkd_mm contributors. All rights reserved.
import math
from typing import List, Optional, Sequence

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler
from mmpretrain.registry import PARAM_SCHEDULERS


class StagedWarmupCosineParamScheduler(_ParamScheduler):
    """Linear warm-up + half-cycle cosine, restarted in every stage.

    dBOT restarts its learning-rate schedule at every stage breakpoint
    (``util/lr_sched.py`` of the official code): with the local step
    ``t = step - s_{k-1}`` and the stage length ``T = s_k - s_{k-1}``,
    ``value = base * t / W`` for ``t < W`` (starting from exactly 0), then
    ``eta_min + (base - eta_min) * (1 + cos(pi * (t - W) / (T - W))) / 2``.
    The value is computed in closed form from the step, so resuming at any
    step reproduces it exactly.

    Args:
        optimizer (Optimizer | OptimWrapper): Wrapped optimizer.
        param_name (str): Scheduled parameter, e.g. ``'lr'``.
        stage_ends (Sequence[int]): Cumulative stage ends, e.g.
            ``[800, 1600]`` epochs (the official ``--stage_epochs 0 800 1600``
            without the leading 0).
        warmup (int): Warm-up length within each stage. Defaults to 0.
        eta_min (float): Final value of each stage. Defaults to 0.
        begin (int): Defaults to 0.
        end (int): Defaults to INF.
        last_step (int): Defaults to -1.
        by_epoch (bool): Whether ``stage_ends``/``warmup`` are in epochs.
            Defaults to True.
        verbose (bool): Defaults to False.
    """

    def __init__(self,
                 optimizer,
                 param_name: str,
                 stage_ends: Sequence[int],
                 warmup: int = 0,
                 eta_min: float = 0.,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False) -> None:
        stage_ends = list(stage_ends)
        starts = [0] + stage_ends[:-1]
        if not stage_ends or any(e <= s for s, e in zip(starts, stage_ends)):
            raise ValueError('`stage_ends` must be strictly increasing '
                             f'positive numbers, got {stage_ends}')
        if any(e - s <= warmup for s, e in zip(starts, stage_ends)):
            raise ValueError(f'warm-up ({warmup}) must be shorter than every '
                             f'stage ({stage_ends})')
        self.stage_ends = stage_ends
        self.warmup = warmup
        self.eta_min = eta_min
        super().__init__(
            optimizer,
            param_name=param_name,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls,
                              *args,
                              stage_ends: Sequence[int],
                              warmup: int = 0,
                              begin: int = 0,
                              end: int = INF,
                              by_epoch: bool = True,
                              epoch_length: Optional[int] = None,
                              **kwargs):
        """Build an iteration-based instance from epoch-based arguments."""
        assert by_epoch and epoch_length, 'needs by_epoch and epoch_length'
        return cls(
            *args,
            stage_ends=[int(e * epoch_length) for e in stage_ends],
            warmup=int(warmup * epoch_length),
            begin=int(begin * epoch_length),
            end=end if end == INF else int(end * epoch_length),
            by_epoch=False,
            **kwargs)

    def factor(self, step: int, base: float) -> float:
        """Scheduled value at ``step`` for a base value ``base``.

        Args:
            step (int): Global step (epoch or iteration).
            base (float): Peak value.

        Returns:
            float: The value.
        """
        start = 0
        for stage_end in self.stage_ends:
            if step < stage_end:
                break
            start = stage_end
        else:  # past the last stage: stay at the end of the last one
            return self.eta_min
        t, length = step - start, stage_end - start
        if t < self.warmup:
            return base * t / self.warmup
        progress = (t - self.warmup) / (length - self.warmup)
        return self.eta_min + (base - self.eta_min) * 0.5 * (
            1. + math.cos(math.pi * progress))

    def _get_value(self) -> List[float]:
        return [
            self.factor(self.last_step + self.begin, base)
            for base in self.base_values
        ]


@PARAM_SCHEDULERS.register_module()
class StagedWarmupCosineLR(LRSchedulerMixin,
                           StagedWarmupCosineParamScheduler):
    """Learning rate version of :class:`StagedWarmupCosineParamScheduler`.

    Example:
        >>> param_scheduler = [dict(
        ...     type='StagedWarmupCosineLR', stage_ends=[800, 1600],
        ...     warmup=40, by_epoch=True, convert_to_iter_based=True)]
    """
