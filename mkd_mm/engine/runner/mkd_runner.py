# Copyright (c) mkd_mm contributors. All rights reserved.
import logging
from typing import Dict, Optional, Tuple

from mmengine.logging import print_log
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.runner import Runner
from mmpretrain.registry import RUNNERS


@RUNNERS.register_module()
class MKDRunner(Runner):
    """mmengine's ``Runner`` with one batch-size convention.

    The total batch of an optimizer step is
    ``world size x per-process batch x optim_wrapper.accumulative_counts``,
    and ``auto_scale_lr.base_batch_size`` is the total batch the config's
    learning rate was set for (4096 for the dBOT/DMAE pre-training recipes,
    1024 for fine-tuning, 16 for detection/segmentation). mmengine's own
    :meth:`~mmengine.runner.Runner.scale_lr` leaves gradient accumulation
    out of the ratio, so a recipe that accumulates (the official
    8 GPUs x 128 x 4 = 4096) would be scaled by 1/4. This runner:

    - always logs the total batch and the learning rate actually used;
    - with ``auto_scale_lr.enable=True`` scales the learning rate by
      ``total / base_batch_size`` (the linear rule the official dBOT/DMAE
      code applies as ``lr = blr x eff_batch_size / 256``);
    - warns when the total batch differs from the recipe's, naming the
      settings that give the recipe's batch back.

    It is selected by ``runner_type = 'mmpretrain.MKDRunner'`` in the configs
    (mmengine's, mmpretrain's, mmdet's and mmseg's ``tools/train.py`` all
    build ``runner_type`` from the registry).
    """

    def batch_sizes(self, optim_wrapper: OptimWrapper) -> Tuple[int, int, int]:
        """``(world size, per-process batch, accumulative_counts)``.

        Args:
            optim_wrapper (OptimWrapper): A built optimizer wrapper.

        Returns:
            Tuple[int, int, int]: The three factors of the total batch.
        """
        loader = self._train_dataloader
        per_gpu = loader.batch_size if hasattr(loader, 'batch_size') \
            else loader['batch_size']
        # OptimWrapper keeps the config value here (no public accessor)
        accum = getattr(optim_wrapper, '_accumulative_counts', 1)
        return self.world_size, int(per_gpu), int(accum)

    def scale_lr(self,
                 optim_wrapper: OptimWrapper,
                 auto_scale_lr: Optional[Dict] = None) -> None:
        """Log the total batch; scale the lr linearly if enabled.

        Args:
            optim_wrapper (OptimWrapper): The built optimizer wrapper(s).
            auto_scale_lr (dict, optional): ``base_batch_size`` and
                ``enable``.
        """
        wrappers = list(optim_wrapper.values()) if isinstance(
            optim_wrapper, OptimWrapperDict) else [optim_wrapper]
        world, per_gpu, accum = self.batch_sizes(wrappers[0])
        total = world * per_gpu * accum
        cfg = auto_scale_lr or {}
        base = cfg.get('base_batch_size', None)
        enabled = bool(cfg.get('enable', False))
        groups = [g for w in wrappers for g in w.optimizer.param_groups]
        config_lr = groups[0]['lr'] if groups else float('nan')
        ratio = 1.0
        if enabled:
            if base is None:
                raise ValueError(
                    '`auto_scale_lr.enable=True` needs '
                    '`auto_scale_lr.base_batch_size` (the total batch the '
                    'learning rate was set for).')
            ratio = total / float(base)
            for group in groups:
                group['lr'] = group['lr'] * ratio
            for wrapper in wrappers:  # the `base_lr` of the training log
                settings = getattr(wrapper, 'base_param_settings', None)
                if isinstance(settings, dict) and 'lr' in settings:
                    settings['lr'] = settings['lr'] * ratio
        how = (f'scaled x{ratio:g} from {config_lr:g} at the recipe batch '
               f'{base} (auto_scale_lr.enable=True)' if enabled else
               'as in the config, not scaled (auto_scale_lr.enable=False)')
        print_log(
            f'Total batch {total} = {world} processes x {per_gpu} per '
            f'process x {accum} accumulation steps; learning rate '
            f'{config_lr * ratio:g} ({how}).',
            logger='current')
        if base is None:
            print_log(
                'The config has no `auto_scale_lr.base_batch_size`, so the '
                'total batch its learning rate was set for is unknown.',
                logger='current',
                level=logging.WARNING)
        elif total != base:
            keep = base / (world * per_gpu)
            fix = (f'optim_wrapper.accumulative_counts={int(keep)}'
                   if keep >= 1 and keep == int(keep) else
                   'train_dataloader.batch_size / '
                   'optim_wrapper.accumulative_counts')
            scaled = ('the learning rate was scaled linearly. '
                      if enabled else 'the learning rate was NOT scaled. ')
            print_log(
                f"The total batch {total} differs from the recipe's {base} "
                f'(auto_scale_lr.base_batch_size); {scaled}To train with the '
                f"recipe's batch on {world} processes, set --cfg-options "
                f'{fix}.',
                logger='current',
                level=logging.WARNING)
