# Copyright (c) mkd_mm contributors. All rights reserved.
"""Helpers of the distributed-equivalence tests.

Imported by the test runs through ``custom_imports`` (the tests put this
folder on ``PYTHONPATH``) and by the tests themselves:

* :class:`MaskedTinyImageDataset`: :class:`TinyImageDataset` whose samples
  carry a mask derived from the sample index only, so a sample is masked
  identically whichever rank or batch position it lands on;
* :class:`RunRecorderHook`: writes, per rank, every iteration's log
  variables and what the DDP wrapper wraps (``run_rank{r}.json``);
* :class:`PoisonedDBOT`: dBOT whose loss is NaN on one rank at chosen
  iterations (the distributed non-finite guard test);
* :func:`equivalence_cfg`: a complete tiny dBOT or DMAE config.
"""
import copy
import json
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.logging import MessageHub
from mmengine.model import is_model_wrapper
from mmpretrain.registry import DATASETS, HOOKS, MODELS

from mkd_mm.models.algorithms import DBOT
from mkd_mm.testing import TinyImageDataset, tiny_dbot_cfg, tiny_dmae_cfg

IMG, PATCH = 32, 8
NUM_PATCHES = (IMG // PATCH)**2


def sample_mask(index: int,
                seed: int = 0,
                ratio: float = 0.75) -> torch.Tensor:
    """The fixed ``(N,)`` mask (1 = masked) of sample ``index``."""
    g = torch.Generator().manual_seed(seed * 100003 + index)
    order = torch.randperm(NUM_PATCHES, generator=g)
    mask = torch.zeros(NUM_PATCHES)
    mask[order[:int(NUM_PATCHES * ratio)]] = 1
    return mask


@DATASETS.register_module()
class MaskedTinyImageDataset(TinyImageDataset):
    """:class:`TinyImageDataset` with a per-sample fixed mask."""

    def prepare_data(self, idx: int) -> dict:
        """Image and a data sample with ``mask``."""
        data = super().prepare_data(idx)
        data['data_samples'].set_mask(sample_mask(idx, self.seed))
        return data


@MODELS.register_module()
class PoisonedDBOT(DBOT):
    """:class:`DBOT` whose loss is NaN on one rank at some iterations.

    Args:
        poison_rank (int): The rank that produces NaN. Defaults to 1.
        poison_iters (tuple[int]): 0-based runner iterations. Defaults to
            ``(1, )``.
        **kwargs: :class:`DBOT` arguments.
    """

    def __init__(self, poison_rank: int = 1, poison_iters=(1, ), **kwargs):
        super().__init__(**kwargs)
        self.poison_rank = poison_rank
        self.poison_iters = tuple(poison_iters)

    def loss(self, *args, **kwargs) -> dict:
        """dBOT loss, times NaN where poisoned."""
        losses = super().loss(*args, **kwargs)
        it = MessageHub.get_current_instance().get_info('iter')
        if get_rank() == self.poison_rank and it in self.poison_iters:
            losses['loss'] = losses['loss'] * float('nan')
        return losses


def _dump(path: str, obj) -> None:
    with open(path, 'w') as f:
        json.dump(obj, f, indent=1)


@HOOKS.register_module()
class RunRecorderHook(Hook):
    """Record per-iteration log variables and the DDP wrapping, per rank."""

    priority = 'VERY_LOW'

    def before_train(self, runner) -> None:
        """Record what the model wrapper wraps."""
        model = runner.model
        info = dict(wrapped=is_model_wrapper(model), wrapper=None)
        if is_model_wrapper(model):
            module = model.module
            in_ddp = {id(p) for p in getattr(model, '_module_parameters', [])}
            names = [n for n, p in module.named_parameters()]
            info.update(
                wrapper=type(model).__name__,
                find_unused_parameters=model.find_unused_parameters,
                ignored=sorted(getattr(model, 'parameters_to_ignore', [])),
                ddp_params=[
                    n for n, p in module.named_parameters() if id(p) in in_ddp
                ],
                all_params=names)
        self.info = info
        self.losses = []

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        """Keep this rank's log variables of the iteration."""
        self.losses.append({
            k:
            float(v.detach()) if isinstance(v, torch.Tensor) else float(v)
            for k, v in outputs.items()
        })

    def after_train(self, runner) -> None:
        """Write ``run_rank{r}.json`` into the work dir."""
        _dump(
            osp.join(runner.work_dir, f'run_rank{get_rank()}.json'),
            dict(info=self.info, losses=self.losses))


def tiny_model_cfg(algorithm: str) -> dict:
    """Tiny ``'dbot'`` or ``'dmae'`` model config."""
    if algorithm == 'dbot':
        return tiny_dbot_cfg(img_size=IMG, patch_size=PATCH)
    if algorithm == 'dmae':
        # align student block 0 with teacher block 1
        return tiny_dmae_cfg(
            img_size=IMG, patch_size=PATCH, student_layers=[0])
    raise ValueError(f'unknown algorithm {algorithm!r}')


def equivalence_cfg(algorithm: str,
                    default_runtime: str,
                    batch_size: int = 4,
                    num_samples: int = 16,
                    max_epochs: int = 2) -> dict:
    """A complete runner config for the equivalence runs.

    No augmentation, ``shuffle=False``, fixed per-sample masks, constant LR,
    a checkpoint at the end only, and :class:`RunRecorderHook`.

    Args:
        algorithm (str): ``'dbot'`` or ``'dmae'``.
        default_runtime (str): Path of ``configs/_base_/default_runtime.py``
            (inherited, so the real default hooks and DDP wrapper are used).
        batch_size (int): Per-process batch size. Defaults to 4.
        num_samples (int): Dataset length. Defaults to 16.
        max_epochs (int): Epochs. Defaults to 2.

    Returns:
        dict: The config (``_base_`` included).
    """
    return dict(
        _base_=[default_runtime],
        custom_imports=dict(
            imports=['mkd_mm', 'dist_helpers'], allow_failed_imports=False),
        model=tiny_model_cfg(algorithm),
        train_dataloader=dict(
            dataset=dict(
                type='MaskedTinyImageDataset', num_samples=num_samples),
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=batch_size,
            num_workers=0),
        optim_wrapper=dict(
            type='OptimWrapper',
            optimizer=dict(
                type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05)),
        param_scheduler=[],
        train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=max_epochs),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', interval=max_epochs)),
        custom_hooks=[dict(type='RunRecorderHook')],
        randomness=dict(seed=0, diff_rank_seed=False, deterministic=False),
        log_level='INFO')
