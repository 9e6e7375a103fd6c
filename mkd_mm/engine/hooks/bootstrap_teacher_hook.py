# Copyright (c) mkd_mm contributors. All rights reserved.
import math
import os.path as osp
from typing import Optional, Sequence

from mmengine.dist import broadcast
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpretrain.registry import HOOKS
from mmpretrain.utils import get_ori_model


@HOOKS.register_module()
class BootstrapTeacherHook(Hook):
    """Multi-stage training of dBOT: stage breakpoints or a momentum teacher.

    **Breakpoints** (official dBOT, ``--stage_epochs 0 800 1600``): at the
    start of the first epoch (or iteration) of every stage after the first,
    the model's :meth:`DBOT.start_next_stage` runs: the teacher takes the
    current student encoder's weights (with that stage's depth) and the
    student (encoder and decoder) is re-initialised. The learning-rate
    restart is done by :class:`StagedWarmupCosineLR` with the same
    ``stage_ends``; this hook checks that both agree. Optimizer moments are
    kept by default, as in the official code (``reset_optimizer=False``).

    The stage index is a buffer of the model and the teacher a submodule, so
    both are in every checkpoint; because the breakpoint is taken at the
    *start* of the next stage, a run resumed from the checkpoint written at
    the end of a stage takes the breakpoint exactly like an uninterrupted
    run, and one resumed later does not take it again. At each stage end the
    student is also saved as ``stage{k}_final.pth`` (``save_stage_ckpt``).

    **Momentum teacher** (the paper's Tab. 6c ablation, ``momentum=...``): no
    breakpoint and no re-initialisation; after every optimizer step
    ``teacher <- m * teacher + (1 - m) * student`` with a constant ``m``
    (``dict(type='constant', value=0.9999)``) or the BYOL/DINO cosine
    ``m_k = 1 - (1 - base) * (1 + cos(pi * k / K)) / 2``
    (``dict(type='cosine', base=0.996)``).

    Args:
        stage_ends (Sequence[int]): Cumulative ends of the stages, the last
            equal to ``train_cfg.max_epochs`` (or ``max_iters``), e.g.
            ``[800, 1600]``. Defaults to None: a single stage.
        by_epoch (bool): ``stage_ends`` counts epochs (else iterations).
            Defaults to True.
        reset_optimizer (bool): Clear the optimizer state (AdamW moments and
            step) at each breakpoint. Defaults to False (official).
        momentum (dict, optional): Momentum-teacher mode, see above.
            Defaults to None.
        save_stage_ckpt (bool): Save the model at every stage end.
            Defaults to True.
    """

    priority = 'NORMAL'

    def __init__(self,
                 stage_ends: Optional[Sequence[int]] = None,
                 by_epoch: bool = True,
                 reset_optimizer: bool = False,
                 momentum: Optional[dict] = None,
                 save_stage_ckpt: bool = True) -> None:
        self.stage_ends = list(stage_ends) if stage_ends else None
        self.by_epoch = by_epoch
        self.reset_optimizer = reset_optimizer
        self.momentum = dict(momentum) if momentum else None
        self.save_stage_ckpt = save_stage_ckpt
        if self.momentum is not None:
            kind = self.momentum.get('type')
            if kind not in ('constant', 'cosine'):
                raise ValueError('`BootstrapTeacherHook.momentum.type` must be '
                                 f"'constant' or 'cosine', got {kind!r}")
            if self.stage_ends and len(self.stage_ends) > 1:
                raise ValueError('A momentum teacher has no stage '
                                 'breakpoints: give a single stage.')

    # ----------------------------------------------------------- checks
    def before_train(self, runner) -> None:
        """Check the stage boundaries against the schedule and the model."""
        total = runner.max_epochs if self.by_epoch else runner.max_iters
        unit = 'max_epochs' if self.by_epoch else 'max_iters'
        if self.stage_ends is None:
            self.stage_ends = [total]
        ends = self.stage_ends
        if any(b <= a for a, b in zip([0] + ends[:-1], ends)):
            raise ValueError(
                '`BootstrapTeacherHook.stage_ends` must be strictly '
                f'increasing positive numbers, got {ends}.')
        if ends[-1] != total:
            raise ValueError(
                f'The last of `BootstrapTeacherHook.stage_ends` {ends} must '
                f'equal `train_cfg.{unit}` ({total}).')
        model = get_ori_model(runner.model)
        if not hasattr(model, 'start_next_stage'):
            raise TypeError('BootstrapTeacherHook needs a DBOT-like model, '
                            f'got {type(model).__name__}.')
        depths = getattr(model, 'teacher_depths', None)
        if depths is not None and len(depths) < len(ends):
            raise ValueError(
                f'`model.teacher_depths` {depths} has fewer entries than '
                f'there are stages ({len(ends)}).')
        self._check_scheduler(runner)
        stage = int(model.stage)
        print_log(
            f'dBOT: {len(ends)} stage(s) ending at {ends} '
            f'({"epochs" if self.by_epoch else "iterations"}); current '
            f'stage {stage + 1}, teacher depth {model.teacher.depth}.',
            logger='current')

    def _check_scheduler(self, runner) -> None:
        schedulers = runner.param_schedulers
        if isinstance(schedulers, dict):
            schedulers = sum(schedulers.values(), [])
        for s in schedulers or []:
            if not hasattr(s, 'stage_ends'):
                continue
            ends = self.stage_ends
            if s.by_epoch != self.by_epoch:
                length = len(runner.train_dataloader)
                ends = [e * length for e in ends] if self.by_epoch else ends
            if list(s.stage_ends) != list(ends):
                raise ValueError(
                    f'`param_scheduler.stage_ends` ({s.stage_ends}) and '
                    f'`BootstrapTeacherHook.stage_ends` ({self.stage_ends}) '
                    'describe different stages.')

    # ------------------------------------------------------ breakpoints
    def _target_stage(self, step: int) -> int:
        return sum(1 for e in self.stage_ends[:-1] if step >= e)

    def _maybe_bootstrap(self, runner, step: int) -> None:
        if self.momentum is not None:
            return
        model = get_ori_model(runner.model)
        target = self._target_stage(step)
        while int(model.stage) < target:
            stage = model.start_next_stage()
            # every rank re-initialised with its own RNG: use rank 0's
            for tensor in model.state_dict().values():
                broadcast(tensor)
            if self.reset_optimizer:
                runner.optim_wrapper.optimizer.state.clear()
            print_log(
                f'dBOT stage {stage + 1} starts at '
                f'{"epoch" if self.by_epoch else "iter"} {step}: teacher '
                f'bootstrapped from the student (depth '
                f'{model.teacher.depth}), student re-initialised'
                f'{", optimizer state reset" if self.reset_optimizer else ""}'
                '.',
                logger='current')

    def before_train_epoch(self, runner) -> None:
        """Take a breakpoint at the start of a stage (epoch mode)."""
        if self.by_epoch:
            self._maybe_bootstrap(runner, runner.epoch)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        """Take a breakpoint at the start of a stage (iteration mode)."""
        if not self.by_epoch:
            self._maybe_bootstrap(runner, runner.iter)

    def _stage_end(self, runner, step: int) -> None:
        if step in self.stage_ends and self.save_stage_ckpt:
            k = self.stage_ends.index(step) + 1
            name = f'stage{k}_final.pth'
            if osp.exists(osp.join(runner.work_dir, name)):
                return  # resumed run: never overwrite what was written
            runner.save_checkpoint(
                runner.work_dir,
                name,
                save_optimizer=False,
                save_param_scheduler=False)
            print_log(f'dBOT stage {k} finished; saved {name}.',
                      logger='current')

    def after_train_epoch(self, runner) -> None:
        """Save the model at a stage end (epoch mode)."""
        if self.by_epoch:
            self._stage_end(runner, runner.epoch + 1)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Log the stage; momentum update; stage end in iteration mode."""
        model = get_ori_model(runner.model)
        runner.message_hub.update_scalar('train/stage', int(model.stage) + 1)
        if self.momentum is not None:
            model.momentum_update(self.momentum_at(runner.iter,
                                                   runner.max_iters))
        if not self.by_epoch:
            self._stage_end(runner, runner.iter + 1)

    def momentum_at(self, it: int, max_iters: int) -> float:
        """Teacher momentum after iteration ``it``.

        Args:
            it (int): 0-based iteration just finished.
            max_iters (int): Total iterations ``K``.

        Returns:
            float: ``m``.
        """
        if self.momentum['type'] == 'constant':
            return float(self.momentum['value'])
        base = float(self.momentum.get('base', 0.996))
        end = float(self.momentum.get('end', 1.0))
        return end - (end - base) * (1 + math.cos(math.pi * it / max_iters)) / 2
